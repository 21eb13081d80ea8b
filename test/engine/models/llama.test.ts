import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openCheckpoint } from '../../../src-main/engine/checkpoint/safetensors'
import { writeSafetensors } from '../../../src-main/engine/checkpoint/safetensors-write'
import { Scorer, type ScoreRow } from '../../../src-main/engine/infer/scoring'
import { tempDir } from '../../helpers/temp'

const GOLDEN = join(import.meta.dirname, '..', '..', 'fixtures', 'golden')

interface GoldenInputs {
  input_ids: number[][]
  attention_mask: number[][]
  labels: number[][]
}
interface GoldenExpected {
  label_logprobs: (number | null)[][]
  sum_logprob: number[]
  label_count: number[]
  mean_nll: number
}
interface GoldenTraining {
  runs: { name: string; losses: number[]; final_loss: number }[]
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T
}

/** The golden batch as unpadded rows (the scorer pads them again). */
function goldenRows(name: string): ScoreRow[] {
  const inputs = readJson<GoldenInputs>(join(GOLDEN, name, 'inputs.json'))
  return inputs.input_ids.map((ids, b) => {
    const length = inputs.attention_mask[b].reduce((n, m) => n + m, 0)
    return { inputIds: ids.slice(0, length), labels: inputs.labels[b].slice(0, length) }
  })
}

function meanNll(scores: { logprob: number; tokens: number }[]): number {
  const sum = scores.reduce((s, r) => s + r.logprob, 0)
  const count = scores.reduce((s, r) => s + r.tokens, 0)
  return -sum / count
}

async function scoreWith(
  modelDir: string,
  cacheDir: string,
  rows: ScoreRow[],
  adapterDir?: string,
  fused = true
) {
  const scorer = await Scorer.open({ modelDir, adapterDir }, { cacheDir, threads: 1, fused })
  try {
    return await scorer.score(rows)
  } finally {
    await scorer.release()
  }
}

describe('Llama-family decoder against the PyTorch reference', () => {
  const cache = tempDir()
  afterAll(() => cache.cleanup())

  // fused: onnxruntime contrib ops where the head dim allows (16 here; qwen2-tied has 8), else standard ops
  const cases = ['llama-untied', 'llama3-rope-scaled', 'qwen2-tied', 'qwen3-qknorm'].flatMap((name) =>
    [true, false].map((fused) => ({ name, fused }))
  )
  for (const { name, fused } of cases) {
    it(`${name}${fused ? ', fused ops' : ', standard ops'}: per-token log-probs of a right-padded batch match within 1e-4`, async () => {
      const expected = readJson<GoldenExpected>(join(GOLDEN, name, 'expected.json'))
      const rows = goldenRows(name)
      const scores = await scoreWith(join(GOLDEN, name), cache.dir, rows, undefined, fused)
      scores.forEach((score, b) => {
        const want = expected.label_logprobs[b].slice(0, rows[b].inputIds.length)
        expect(score.tokenLogprobs.map((v) => v === null)).toEqual(want.map((v) => v === null))
        score.tokenLogprobs.forEach((v, t) => {
          if (v !== null) expect(Math.abs(v - want[t]!), `row ${b} position ${t}`).toBeLessThan(1e-4)
        })
        expect(score.tokens).toBe(expected.label_count[b])
        expect(Math.abs(score.logprob - expected.sum_logprob[b])).toBeLessThan(1e-3)
      })
    })
  }

  it('merges a PEFT LoRA adapter: the loss matches PyTorch with the adapter applied', async () => {
    const training = readJson<GoldenTraining>(join(GOLDEN, 'train-llama-untied', 'expected.json'))
    const withAdapter = training.runs.find((run) => run.name === 'lora-sgd')!.losses[0]
    const rows = goldenRows('llama-untied')
    const adapter = join(GOLDEN, 'train-llama-untied', 'adapter')
    const scores = await scoreWith(join(GOLDEN, 'llama-untied'), cache.dir, rows, adapter)
    expect(Math.abs(meanNll(scores) - withAdapter)).toBeLessThan(1e-4)
    const base = readJson<GoldenExpected>(join(GOLDEN, 'llama-untied', 'expected.json')).mean_nll
    expect(Math.abs(withAdapter - base)).toBeGreaterThan(0.1) // the adapter does change the model
  })

  it('converts weights once per model and adapter, and again when the checkpoint changes', async () => {
    const own = tempDir()
    try {
      const modelDir = join(own.dir, 'model')
      mkdirSync(modelDir)
      for (const file of ['config.json', 'model.safetensors'])
        copyFileSync(join(GOLDEN, 'llama-untied', file), join(modelDir, file))
      const rows = goldenRows('llama-untied')
      const cacheDir = join(own.dir, 'cache')
      await scoreWith(modelDir, cacheDir, rows)
      const [folder] = readdirSync(cacheDir)
      const converted = statSync(join(cacheDir, folder, 'weights.bin')).mtimeMs
      await scoreWith(modelDir, cacheDir, rows)
      expect(readdirSync(cacheDir)).toEqual([folder])
      expect(statSync(join(cacheDir, folder, 'weights.bin')).mtimeMs).toBe(converted)

      await scoreWith(modelDir, cacheDir, rows, join(GOLDEN, 'train-llama-untied', 'adapter'))
      expect(readdirSync(cacheDir)).toHaveLength(2)

      // A BF16 copy of the checkpoint replaces the F32 one: new weights, new folder, new scores.
      const checkpoint = openCheckpoint(join(GOLDEN, 'llama-untied'))
      const tensors = checkpoint.names().map((name) => ({
        name,
        dtype: 'BF16' as const,
        shape: checkpoint.info(name).shape,
        data: checkpoint.readFloat32(name)
      }))
      checkpoint.close()
      writeSafetensors(join(modelDir, 'model.safetensors'), tensors)
      const bf16 = await scoreWith(modelDir, cacheDir, rows)
      expect(readdirSync(cacheDir)).toHaveLength(3)
      const expected = readJson<GoldenExpected>(join(GOLDEN, 'llama-untied', 'expected.json'))
      // bfloat16 keeps 8 bits of mantissa: close to the float32 model, but not equal to it
      const drift = Math.abs(meanNll(bf16) - expected.mean_nll)
      expect(drift).toBeGreaterThan(1e-6)
      expect(drift).toBeLessThan(0.05)
    } finally {
      own.cleanup()
    }
  })
})
