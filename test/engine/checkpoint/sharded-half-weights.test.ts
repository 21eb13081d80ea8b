/**
 * Models as users have them on disk — sharded safetensors (model.safetensors.index.json) and
 * weights in bfloat16 or float16 — load end to end: validation, registration's hashing, scoring,
 * generation and training. Each is compared with a float32 single-file model of the same values
 * (for half dtypes: the float32 values rounded to that dtype), which must give the same numbers.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Generator } from '../../../src-main/engine/infer/generation'
import { Scorer } from '../../../src-main/engine/infer/scoring'
import { IGNORE_INDEX } from '../../../src-main/engine/tokenizer/labels'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { train, type TrainEvent } from '../../../src-main/engine/train/trainer'
import { inspectModel } from '../../../src-main/jobs/kinds/model-inspect'
import { validateModelFolder } from '../../../src-main/jobs/kinds/model-validate'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { randomStoriesWeights, roundedTo, writeModelFolder } from '../../helpers/model-folders'
import { tempDir } from '../../helpers/temp'
import { storiesConfig, trainingStories, writeJsonl } from '../train/invented-stories'

const temp = tempDir('fs-sharded-half-')
afterAll(() => temp.cleanup())
const weights = randomStoriesWeights(17)
const folder = (name: string) => join(temp.dir, name)

/** Each case: a folder as users have it, and the float32 single-file folder it must equal. */
const CASES = [
  { name: 'F32 in 3 shards', dtype: 'F32', shards: 3, reference: 'f32' },
  { name: 'BF16 in 2 shards', dtype: 'BF16', shards: 2, reference: 'f32-bf16' },
  { name: 'F16 in one file', dtype: 'F16', shards: 1, reference: 'f32-f16' },
  { name: 'F16 in 3 shards', dtype: 'F16', shards: 3, reference: 'f32-f16' }
] as const

beforeAll(() => {
  writeModelFolder(folder('f32'), weights, { dtype: 'F32', shards: 1 })
  writeModelFolder(folder('f32-bf16'), roundedTo('BF16', weights), { dtype: 'F32', shards: 1 })
  writeModelFolder(folder('f32-f16'), roundedTo('F16', weights), { dtype: 'F32', shards: 1 })
  for (const c of CASES) writeModelFolder(folder(c.name), weights, { dtype: c.dtype, shards: c.shards })
})

const QUIET = { log: () => {}, progress: () => {}, signal: new AbortController().signal }

describe.each(CASES)('$name', (c) => {
  it('validates and registers with its dtype and parameter count', async () => {
    const validation = validateModelFolder(folder(c.name))
    expect(validation).toMatchObject({ ok: true, dtype: c.dtype, parameterCount: 260_032, errors: [] })
    const inspection = await inspectModel(folder(c.name), QUIET)
    expect(inspection).toMatchObject({ dtype: c.dtype, parameterCount: 260_032 })
    // Every shard is hashed: the same folder with another dtype or split hashes differently.
    const reference = await inspectModel(folder(c.reference), QUIET)
    expect(inspection.contentHash).not.toBe(reference.contentHash)
  })

  it('scores and generates exactly as the float32 model of its values', async () => {
    const tokenizer = loadTokenizer(folder(c.name))
    const rows = ['Once upon a time, there was a dragon.', 'The cat sat on the mat and slept.'].map(
      (text) => {
        const inputIds = tokenizer.encode(text)
        return { inputIds, labels: inputIds.map((id, t) => (t === 0 ? IGNORE_INDEX : id)) }
      }
    )
    const results = []
    // The unrounded float32 model last: a half dtype must differ from it, or the test compares nothing.
    for (const modelDir of [folder(c.name), folder(c.reference), folder('f32')]) {
      const options = { cacheDir: join(temp.dir, 'cache'), threads: 1 }
      const scorer = await Scorer.open({ modelDir }, options)
      const scores = await scorer.score(rows)
      await scorer.release()
      const generator = await Generator.open({ modelDir }, options)
      const generated = await generator.generate(tokenizer.encode('Once upon a time'), tokenizer, {
        maxNewTokens: 24,
        temperature: 0,
        stopAtEos: false
      })
      await generator.release()
      results.push({ scores, tokenIds: generated.tokenIds })
    }
    expect(results[0].scores).toEqual(results[1].scores)
    expect(results[0].tokenIds).toEqual(results[1].tokenIds)
    expect(results[0].tokenIds).toHaveLength(24)
    if (c.dtype !== 'F32') expect(results[0].scores).not.toEqual(results[2].scores)
  })

  it.each(['lora', 'full'] as const)(
    'trains (%s) with the same losses as the float32 model',
    async (kind) => {
      const data = writeJsonl(join(temp.dir, 'train.jsonl'), trainingStories())
      const losses = []
      for (const modelDir of [folder(c.name), folder(c.reference)]) {
        const out = `${c.name}-${kind}-${modelDir === folder(c.name) ? 'a' : 'b'}`
        const config = storiesConfig(temp.dir, data, out, {
          modelDir,
          adapter: { kind },
          maxSteps: 2,
          lr: 1e-2
        })
        const events: TrainEvent[] = []
        await train(config, { resolveRecipe, onEvent: (e) => void events.push(e) })
        losses.push(events.flatMap((e) => (e.type === 'step' ? [e.loss] : [])))
      }
      expect(losses[0]).toHaveLength(2)
      expect(losses[0].every(Number.isFinite)).toBe(true)
      expect(losses[0]).toEqual(losses[1])
    }
  )
})
