import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Scorer } from '../../../src-main/engine/infer/scoring'
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
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T
}

describe('Llama-family decoder against the PyTorch reference', () => {
  const cache = tempDir()
  afterAll(() => cache.cleanup())

  for (const name of ['llama-untied', 'llama3-rope-scaled', 'qwen2-tied', 'qwen3-qknorm']) {
    it(`${name}: per-token log-probs of a right-padded batch match within 1e-4`, async () => {
      const dir = join(GOLDEN, name)
      const inputs = readJson<GoldenInputs>(join(dir, 'inputs.json'))
      const expected = readJson<GoldenExpected>(join(dir, 'expected.json'))
      const rows = inputs.input_ids.map((ids, b) => {
        const length = inputs.attention_mask[b].reduce((n, m) => n + m, 0)
        return { inputIds: ids.slice(0, length), labels: inputs.labels[b].slice(0, length) }
      })
      const scorer = await Scorer.open({ modelDir: dir }, { cacheDir: cache.dir, threads: 1 })
      const scores = await scorer.score(rows)
      await scorer.release()
      scores.forEach((score, b) => {
        const want = expected.label_logprobs[b].slice(0, rows[b].inputIds.length)
        expect(score.tokenLogprobs.map((v) => v === null)).toEqual(want.map((v) => v === null))
        score.tokenLogprobs.forEach((v, t) => {
          if (v !== null) expect(Math.abs(v - want[t]!), `row ${b} position ${t}`).toBeLessThan(1e-4)
        })
        expect(score.tokens).toBe(expected.label_count[b])
        expect(score.logprob).toBeCloseTo(expected.sum_logprob[b], 3)
      })
    })
  }
})
