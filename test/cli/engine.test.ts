import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readModelConfig } from '../../src-main/engine/checkpoint/hf-config'
import { loraModules, writeLoraAdapter } from '../../src-main/engine/checkpoint/peft'
import { seededRandom } from '../../src-main/engine/infer/sampling'
import { cudaProviderInstalled } from '../../src-main/engine/runtime/devices'
import { runCli } from '../../src-main/cli/index'
import { trainingStories, writeJsonl } from '../engine/train/invented-stories'
import { maxRelativeDifference, PARITY_LORA, PARITY_STEPS, PARITY_TOLERANCE } from '../helpers/device-parity'
import { STORIES_260K, tempDir } from '../helpers/temp'

const GOLDEN = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'fixtures', 'golden', 'stories260K-greedy.json'), 'utf8')
) as { new_ids: number[]; new_token_logprobs: number[]; text: string }

async function cli(argv: string[], options: { stream?: boolean } = {}) {
  const out: string[] = []
  const err: string[] = []
  const written: string[] = []
  const io = {
    out: (line: string) => out.push(line),
    err: (line: string) => err.push(line),
    ...(options.stream ? { write: (text: string) => written.push(text) } : {})
  }
  const code = await runCli(argv, io)
  return { code, out: out.join('\n'), err: err.join('\n'), written }
}

describe('finetune-studio score and generate', () => {
  const dir = tempDir()
  const store = join(dir.dir, 'store')
  afterAll(() => dir.cleanup())
  const model = ['--model', STORIES_260K, '--store', store, '--threads', '1']

  const dataPath = join(dir.dir, 'rows.jsonl')
  writeFileSync(
    dataPath,
    [
      JSON.stringify({
        input_ids: [1, ...GOLDEN.new_ids.slice(0, 4)],
        labels: [-100, ...GOLDEN.new_ids.slice(0, 4)]
      }),
      JSON.stringify({ prompt: 'Once upon a time', completion: ', there was a little girl.' }),
      JSON.stringify({
        messages: [
          { role: 'user', content: 'Tell me a story.' },
          { role: 'assistant', content: 'Once upon a time, there was a cat.' }
        ]
      })
    ].join('\n') + '\n'
  )

  it('score prints one {"logprob", "tokens"} line per row, in order', async () => {
    const { code, out, err } = await cli(['score', ...model, '--data', dataPath])
    expect(err).toBe('')
    expect(code).toBe(0)
    const lines = out.split('\n').map((line) => JSON.parse(line) as { logprob: number; tokens: number })
    expect(lines).toHaveLength(3)
    for (const line of lines) expect(Object.keys(line)).toEqual(['logprob', 'tokens'])
    const expected = GOLDEN.new_token_logprobs.slice(0, 4).reduce((a, b) => a + b, 0)
    expect(lines[0].tokens).toBe(4)
    expect(Math.abs(lines[0].logprob - expected)).toBeLessThan(1e-4)
    expect(lines[1].tokens).toBeGreaterThan(3)
    expect(lines[2].tokens).toBeGreaterThan(5)
    for (const line of lines) expect(line.logprob).toBeLessThan(0)
  })

  it('score --out writes the same lines to a file', async () => {
    const outPath = join(dir.dir, 'scores.jsonl')
    const printed = await cli(['score', ...model, '--data', dataPath])
    const written = await cli(['score', ...model, '--data', dataPath, '--out', outPath])
    expect(written).toMatchObject({ code: 0, out: '' })
    expect(readFileSync(outPath, 'utf8')).toBe(printed.out + '\n')
  })

  it('score --adapter changes the scores', async () => {
    const config = readModelConfig(STORIES_260K)
    const lora = {
      r: 2,
      loraAlpha: 4,
      loraDropout: 0,
      targetModules: ['q_proj', 'v_proj'] as ('q_proj' | 'v_proj')[],
      baseModelNameOrPath: null,
      useRslora: false
    }
    const random = seededRandom(3)
    const modules = loraModules(config, lora.targetModules).map((m) => ({
      ...m,
      a: Float32Array.from({ length: lora.r * m.inFeatures }, () => random() - 0.5),
      b: Float32Array.from({ length: m.outFeatures * lora.r }, () => random() - 0.5)
    }))
    const adapter = join(dir.dir, 'adapter')
    mkdirSync(adapter)
    writeLoraAdapter(adapter, lora, modules)
    const base = await cli(['score', ...model, '--data', dataPath])
    const adapted = await cli(['score', ...model, '--data', dataPath, '--adapter', adapter])
    expect(adapted.code).toBe(0)
    const logprobs = (text: string) =>
      text.split('\n').map((l) => (JSON.parse(l) as { logprob: number }).logprob)
    const before = logprobs(base.out)
    const after = logprobs(adapted.out)
    after.forEach((value, i) => expect(Math.abs(value - before[i])).toBeGreaterThan(1e-3))
  })

  it('score names the file and line of a bad row', async () => {
    const bad = join(dir.dir, 'bad.jsonl')
    writeFileSync(bad, '{"input_ids": [1, 2]}\n{"input_ids": [1, 2], "labels": [2]}\n')
    const { code, err } = await cli(['score', ...model, '--data', bad])
    expect(code).toBe(1)
    expect(err).toBe(
      `finetune-studio score: score rows: line 2 of ${bad}: "labels" has 1 entries, "input_ids" 2`
    )
  })

  it('generate streams only the generated text; greedy from BOS is the original story', async () => {
    const { code, out, err, written } = await cli(
      ['generate', ...model, '--prompt', '', '--temperature', '0', '--max-new-tokens', '40'],
      { stream: true }
    )
    expect(err).toBe('')
    expect(code).toBe(0)
    expect(out).toBe('')
    expect(written.length).toBeGreaterThan(5)
    const text = written.join('')
    expect(GOLDEN.text.startsWith(text)).toBe(true)
    expect(text).toMatch(/^Once upon a time, there was a little girl named Lily\./)
  })

  it('generate continues a prompt, reproducibly with a seed, and honours --stop', async () => {
    const args = [
      'generate',
      ...model,
      '--prompt',
      'Once upon a time',
      '--max-new-tokens',
      '30',
      '--top-k',
      '20',
      '--top-p',
      '0.9'
    ]
    const first = await cli([...args, '--seed', '11'])
    const again = await cli([...args, '--seed', '11'])
    expect(first.code).toBe(0)
    expect(first.out.length).toBeGreaterThan(10)
    expect(first.out.startsWith('Once upon a time')).toBe(false) // the prompt is not echoed
    expect(again.out).toBe(first.out)

    const stopped = await cli(['generate', ...model, '--prompt', '', '--temperature', '0', '--stop', 'Lily'])
    expect(stopped.out).toBe('Once upon a time, there was a little girl named ')

    const plain = await cli([
      'generate',
      ...model,
      '--prompt',
      'Hi',
      '--temperature',
      '0',
      '--max-new-tokens',
      '12'
    ])
    const chat = await cli([
      ...['generate', ...model, '--prompt', 'Hi', '--temperature', '0'],
      '--max-new-tokens',
      '12',
      '--chat'
    ])
    expect(chat.code).toBe(0)
    expect(chat.out).not.toBe(plain.out) // the template changed what the model saw
  })

  it('--device cuda without the CUDA provider fails with the setup hint', async () => {
    if (cudaProviderInstalled()) return // nothing to refuse on a machine that has it
    for (const command of [
      ['generate', '--prompt', 'x'],
      ['score', '--data', dataPath]
    ]) {
      const { code, err } = await cli([...command, ...model, '--device', 'cuda'])
      expect(code).toBe(1)
      expect(err).toMatch(/--device cuda: .*npm run setup:cuda/)
    }
  })

  /** Per-row {logprob, tokens} of `score` on `device`. */
  async function rowScores(device: string) {
    const { code, out, err } = await cli(['score', ...model, '--data', dataPath, '--device', device])
    expect(err).toBe('')
    expect(code).toBe(0)
    return out.split('\n').map((line) => JSON.parse(line) as { logprob: number; tokens: number })
  }

  /** The metrics file's losses of a PARITY_STEPS-step LoRA run of `train` on `device`. */
  async function trainedLosses(device: string, out: string, extra: string[] = []): Promise<number[]> {
    const data = writeJsonl(join(dir.dir, 'stories.jsonl'), trainingStories())
    const metrics = join(dir.dir, `${out}.metrics.jsonl`)
    const { code, err } = await cli([
      'train',
      ...['--model', STORIES_260K, '--store', store, '--data', data, '--out', join(dir.dir, out)],
      ...['--lora-targets', PARITY_LORA.targets.join(','), '--lora-r', String(PARITY_LORA.r)],
      ...['--lora-alpha', String(PARITY_LORA.alpha), '--lr', '0.005', '--batch-size', '4'],
      ...['--max-steps', String(PARITY_STEPS), '--no-shuffle', '--seed', '7', '--device', device],
      ...['--metrics-jsonl', metrics, ...extra]
    ])
    expect(code, err).toBe(0)
    return readFileSync(metrics, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { loss: number }).loss)
  }

  it('train --metrics-jsonl gives the losses the CUDA comparison reads (CPU)', async () => {
    const losses = await trainedLosses('cpu', 'metrics-cpu')
    expect(losses).toHaveLength(PARITY_STEPS)
    expect(losses[PARITY_STEPS - 1]).toBeLessThan(losses[0])
  })

  // Skipped (not passed) without the CUDA provider: `npm run setup:cuda` enables them.
  it.runIf(cudaProviderInstalled())(
    `score --device cuda: each row's log-prob within ${PARITY_TOLERANCE.logprobNats} nats a token of CPU`,
    async () => {
      const cpu = await rowScores('cpu')
      const cuda = await rowScores('cuda')
      expect(cuda.map((row) => row.tokens)).toEqual(cpu.map((row) => row.tokens))
      cuda.forEach((row, i) =>
        expect(Math.abs(row.logprob - cpu[i].logprob)).toBeLessThan(PARITY_TOLERANCE.logprobNats * row.tokens)
      )
    }
  )

  it.runIf(cudaProviderInstalled())(
    `train --device cuda: ${PARITY_STEPS} LoRA losses within ${PARITY_TOLERANCE.lossRelative} (relative) of CPU`,
    async () => {
      const cpu = await trainedLosses('cpu', 'parity-cpu')
      const cuda = await trainedLosses('cuda', 'parity-cuda')
      expect(maxRelativeDifference(cuda, cpu)).toBeLessThan(PARITY_TOLERANCE.lossRelative)
    }
  )

  it.runIf(cudaProviderInstalled())(
    `train --device cuda --base-precision int4: ${PARITY_STEPS} losses within ${PARITY_TOLERANCE.lossRelative} of CPU int4`,
    async () => {
      const int4 = ['--base-precision', 'int4']
      const cpu = await trainedLosses('cpu', 'int4-cpu', int4)
      const cuda = await trainedLosses('cuda', 'int4-cuda', int4)
      expect(maxRelativeDifference(cuda, cpu)).toBeLessThan(PARITY_TOLERANCE.lossRelative)
    }
  )

  it('refuses wrong usage with exit code 2', async () => {
    expect((await cli(['generate', '--model', STORIES_260K, '--store', store])).code).toBe(2)
    expect((await cli(['score', '--model', STORIES_260K, '--store', store])).code).toBe(2)
    const badDevice = await cli(['generate', ...model, '--prompt', 'x', '--device', 'tpu'])
    expect(badDevice.code).toBe(2)
    expect(badDevice.err).toMatch(/--device must be cpu or cuda, got tpu/)
    const badTopP = await cli(['generate', ...model, '--prompt', 'x', '--top-p', '1.5'])
    expect(badTopP.err).toMatch(/--top-p must be a number .*≤ 1, got 1.5/)
  })
})
