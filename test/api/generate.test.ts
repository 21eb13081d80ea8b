import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { readModelConfig } from '../../src-main/engine/checkpoint/hf-config'
import { encodePrompt, Generator } from '../../src-main/engine/infer/generation'
import { INFERENCE_DIR } from '../../src-main/engine/train/checkpoint-weights'
import { loadTokenizer } from '../../src-main/engine/tokenizer/tokenizer'
import { defaultModelDir } from '../../src-main/resources'
import { graphCacheDir } from '../../src-main/store/location'
import type { Events } from '../../src-preload/contract'
import { quickRun, useTrainingStore, type TestApi } from './run-fixtures'

/** stories260K's greedy text from BOS, as its original implementation wrote it. */
const GOLDEN_TEXT = (
  JSON.parse(
    readFileSync(join(import.meta.dirname, '..', 'fixtures', 'golden', 'stories260K-greedy.json'), 'utf8')
  ) as { text: string }
).text

const GREEDY = { prompt: 'Once upon a time', chat: false, maxNewTokens: 24, temperature: 0 }

/** What the engine's Generator, used directly, makes of GREEDY with these weights. */
async function referenceText(
  api: TestApi,
  source: { modelDir: string; adapterDir?: string }
): Promise<string> {
  const tokenizer = loadTokenizer(source.modelDir)
  const generator = await Generator.open(source, { cacheDir: graphCacheDir(api.store.dir) })
  try {
    const prompt = encodePrompt(tokenizer, generator.model.config, GREEDY.prompt)
    const result = await generator.generate(prompt, tokenizer, { maxNewTokens: 24, temperature: 0 })
    return result.text
  } finally {
    await generator.release()
  }
}

describe('models.generate', () => {
  const fixture = useTrainingStore()
  const outputs: Events['job.output'][] = []
  let baseText = ''

  beforeAll(() => {
    fixture.api.events.subscribe((event, payload) => {
      if (event === 'job.output') outputs.push(payload as Events['job.output'])
    })
  })

  it('generates greedily from a base model as the Generator does, streaming the text as job.output', async () => {
    const result = await fixture.api.call('models.generate', {
      ...GREEDY,
      baseModelId: fixture.inputs.baseModelId,
      requestId: 'req-1'
    })
    expect(result).toMatchObject({ finishReason: 'length', tokenCount: 24 })
    expect(result.text).toBe(await referenceText(fixture.api, { modelDir: defaultModelDir() }))
    expect(result.text.length).toBeGreaterThan(20)
    baseText = result.text
    // The original greedy story begins with this prompt, and goes on as we did.
    expect(GOLDEN_TEXT.startsWith(GREEDY.prompt + result.text)).toBe(true)

    const mine = outputs.filter((o) => o.requestId === 'req-1')
    expect(mine.every((o) => o.jobId === result.jobId)).toBe(true)
    // The first piece is the empty one that names the job before any text comes.
    expect(mine[0].text).toBe('')
    expect(mine.length).toBeGreaterThan(2)
    expect(mine.map((o) => o.text).join('')).toBe(result.text)

    const job = fixture.api.jobs.get(result.jobId)
    expect(job).toMatchObject({ kind: 'engine.generate', status: 'completed' })
  })

  it('generates from a run checkpoint: the final checkpoint gives what the exported adapter gives', async () => {
    const run = await fixture.api.call(
      'runs.start',
      quickRun(fixture.inputs, { maxSteps: 20, saveEvery: 10 })
    )
    expect((await fixture.api.runs.waitForRun(run.id)).status).toBe('completed')
    const detail = await fixture.api.call('runs.get', { id: run.id })
    const last = detail.checkpoints.at(-1)!
    expect(last.step).toBe(20)
    // What the Playground's picker lists: this run (the newest with checkpoints) and its checkpoints.
    const [listed] = await fixture.api.call('runs.checkpoints', {})
    expect(listed).toEqual({
      runId: run.id,
      runName: run.name,
      baseModelId: fixture.inputs.baseModelId,
      status: 'completed',
      checkpoints: detail.checkpoints
    })

    const result = await fixture.api.call('models.generate', { ...GREEDY, checkpointId: last.id })
    expect(result.tokenCount).toBe(24)
    expect(existsSync(join(last.path, INFERENCE_DIR, 'adapter_config.json'))).toBe(true)
    const exported = await referenceText(fixture.api, {
      modelDir: defaultModelDir(),
      adapterDir: detail.outDir!
    })
    expect(result.text).toBe(exported)
    expect(result.text).not.toBe(baseText)
    // A second call reuses the exported folder and gives the same text.
    expect((await fixture.api.call('models.generate', { ...GREEDY, checkpointId: last.id })).text).toBe(
      result.text
    )
  })

  it('is cancelled through jobs.cancel: the answer says aborted', async () => {
    // Cancelled as soon as the job is named, before the worker has loaded the model.
    const stop = fixture.api.events.subscribe((event, payload) => {
      const output = payload as Events['job.output']
      if (event === 'job.output' && output.requestId === 'req-cancel') {
        stop()
        void fixture.api.call('jobs.cancel', { id: output.jobId })
      }
    })
    const result = await fixture.api.call('models.generate', {
      ...GREEDY,
      baseModelId: fixture.inputs.baseModelId,
      requestId: 'req-cancel'
    })
    expect(result).toMatchObject({ finishReason: 'aborted', text: '', tokenCount: 0 })
    expect(fixture.api.jobs.get(result.jobId)?.status).toBe('cancelled')
  })

  it('names the operation and the id for an unknown base model or checkpoint', async () => {
    await expect(fixture.api.call('models.generate', { ...GREEDY, baseModelId: 9999 })).rejects.toMatchObject(
      {
        code: 'not_found',
        message: expect.stringContaining('models.generate: base model 9999')
      }
    )
    await expect(
      fixture.api.call('models.generate', { ...GREEDY, checkpointId: 4242 })
    ).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('models.generate: checkpoint 4242')
    })
  })

  it('says in words when the new tokens cannot fit in the context, before or after the prompt', async () => {
    // stories260K reads 512 tokens at once, the prompt included; the model list says so.
    expect((await fixture.api.call('models.list', {})).map((model) => model.contextLength)).toEqual([512])
    await expect(
      fixture.api.call('models.generate', {
        ...GREEDY,
        baseModelId: fixture.inputs.baseModelId,
        maxNewTokens: 512
      })
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message:
        'models.generate: stories260K reads at most 512 tokens at once, the prompt included: ask for fewer than 512 new tokens, not 512'
    })
    const modelDir = defaultModelDir()
    const prompt = encodePrompt(loadTokenizer(modelDir), readModelConfig(modelDir), GREEDY.prompt)
    await expect(
      fixture.api.call('models.generate', {
        ...GREEDY,
        baseModelId: fixture.inputs.baseModelId,
        maxNewTokens: 511
      })
    ).rejects.toMatchObject({
      code: 'failed',
      message: `models.generate: stories260K: Generator.generate: the prompt takes ${prompt.length} of the 512 tokens the model reads at once, so at most ${512 - prompt.length} new tokens fit, not 511`
    })
  })

  it('refuses both ids, neither id, and settings out of range', async () => {
    for (const input of [
      { ...GREEDY, baseModelId: fixture.inputs.baseModelId, checkpointId: 1 },
      { ...GREEDY },
      { ...GREEDY, baseModelId: fixture.inputs.baseModelId, maxNewTokens: 0 },
      { ...GREEDY, baseModelId: fixture.inputs.baseModelId, temperature: 6 }
    ]) {
      await expect(fixture.api.call('models.generate', input)).rejects.toMatchObject({
        code: 'invalid_input'
      })
    }
  })
})
