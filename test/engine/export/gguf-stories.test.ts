/**
 * GGUF exports of ../shared/models/stories260K judged by llama.cpp (node-llama-cpp 3.21.1):
 * F32 and F16 generate the same 64 greedy ids as our engine, so do LoRA and full fine-tuning
 * checkpoints' weights, Q8_0's per-token log-probs stay near our float32 scores, and Q4_0 loads
 * and generates.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readModelConfig } from '../../../src-main/engine/checkpoint/hf-config'
import { writeGguf, type GgufFileType } from '../../../src-main/engine/export/gguf'
import { encodePrompt, Generator } from '../../../src-main/engine/infer/generation'
import { Scorer } from '../../../src-main/engine/infer/scoring'
import type { WeightsSource } from '../../../src-main/engine/models/weights'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { checkpointWeightsSource } from '../../../src-main/engine/train/checkpoint-weights'
import { train, type TrainEvent } from '../../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { STORIES_260K, tempDir } from '../../helpers/temp'
import { storiesConfig, STORY_PROMPT, trainingStories, writeJsonl } from '../train/invented-stories'
import { disposeLlama, llamaCppGreedyIds, llamaCppTokenLogprobs } from './llama-cpp'

const temp = tempDir('fs-gguf-stories-')
const cacheDir = join(temp.dir, 'cache')
const tokenizer = loadTokenizer(STORIES_260K)
const GREEDY_TOKENS = 64
/** A fixed text the Q8_0 file scores: a story's opening plus a sentence stories260K finds unlikely. */
const SCORED_TEXT =
  'Once upon a time, there was a little girl named Lily. She liked to read books about the sea.'

afterAll(async () => {
  await disposeLlama()
  temp.cleanup()
})

async function engineGreedyIds(source: WeightsSource, promptIds: readonly number[]): Promise<number[]> {
  const generator = await Generator.open(source, { cacheDir, threads: 1 })
  try {
    const result = await generator.generate(promptIds, tokenizer, {
      maxNewTokens: GREEDY_TOKENS,
      temperature: 0,
      stopAtEos: false
    })
    return result.tokenIds
  } finally {
    await generator.release()
  }
}

async function engineTokenLogprobs(ids: readonly number[]): Promise<number[]> {
  const scorer = await Scorer.open({ modelDir: STORIES_260K }, { cacheDir, threads: 1 })
  try {
    const [row] = await scorer.score([{ inputIds: ids, labels: ids }])
    return row.tokenLogprobs.slice(1) as number[]
  } finally {
    await scorer.release()
  }
}

async function exportStories(type: GgufFileType): Promise<string> {
  const outFile = join(temp.dir, `stories-${type}.gguf`)
  await writeGguf({ modelDir: STORIES_260K, outFile, type })
  return outFile
}

describe('stories260K as GGUF in llama.cpp', () => {
  const promptIds = encodePrompt(tokenizer, readModelConfig(STORIES_260K), STORY_PROMPT)
  let baseIds: number[]
  beforeAll(async () => {
    baseIds = await engineGreedyIds({ modelDir: STORIES_260K }, promptIds)
  })

  it.each(['F32', 'F16'] as const)('%s generates the same 64 greedy ids as our engine', async (type) => {
    const file = await exportStories(type)
    expect(await llamaCppGreedyIds(file, promptIds, GREEDY_TOKENS)).toEqual(baseIds)
  })

  it.each([
    {
      kind: 'LoRA',
      adapter: {
        kind: 'lora',
        r: 4,
        alpha: 8,
        dropout: 0,
        targets: ['q_proj', 'k_proj', 'v_proj', 'down_proj']
      },
      lr: 3e-2
    },
    { kind: 'full fine-tuning', adapter: { kind: 'full' }, lr: 5e-2 }
  ] as const)(
    'a $kind training checkpoint generates the same 64 greedy ids as our engine on it',
    async (run) => {
      const events: TrainEvent[] = []
      const dataFile = writeJsonl(join(temp.dir, 'train.jsonl'), trainingStories())
      const config = storiesConfig(temp.dir, dataFile, `run-${run.adapter.kind}`, {
        adapter:
          run.adapter.kind === 'lora' ? { ...run.adapter, targets: [...run.adapter.targets] } : run.adapter,
        maxSteps: 3,
        lr: run.lr
      })
      await train(config, { resolveRecipe, onEvent: (event) => void events.push(event) })
      const checkpoint = events.findLast((event) => event.type === 'checkpoint')
      if (checkpoint?.type !== 'checkpoint') throw new Error('the run saved no checkpoint')

      const trainedIds = await engineGreedyIds(
        checkpointWeightsSource(checkpoint.dir, STORIES_260K),
        promptIds
      )
      expect(trainedIds).not.toEqual(baseIds) // the training changes what the model says
      const outFile = join(temp.dir, `stories-${run.adapter.kind}.gguf`)
      await writeGguf({ modelDir: STORIES_260K, checkpointDir: checkpoint.dir, outFile, type: 'F32' })
      expect(await llamaCppGreedyIds(outFile, promptIds, GREEDY_TOKENS)).toEqual(trainedIds)
    }
  )

  it('F32 log-probs equal our scorer to 0.01; Q8_0 stays within 0.25 nats per token, 0.04 on average', async () => {
    const ids = [1, ...tokenizer.encode(SCORED_TEXT, { addSpecialTokens: false })]
    const ours = await engineTokenLogprobs(ids)
    const f32 = await llamaCppTokenLogprobs(await exportStories('F32'), ids)
    const q8 = await llamaCppTokenLogprobs(await exportStories('Q8_0'), ids)
    const differences = (theirs: number[]) => theirs.map((value, t) => Math.abs(value - ours[t]))
    // Measured: 0.003 (llama.cpp's kernels round differently from onnxruntime's).
    expect(Math.max(...differences(f32))).toBeLessThan(1e-2)
    const q8Differences = differences(q8)
    // Measured: at most 0.12, 0.016 on average.
    expect(Math.max(...q8Differences)).toBeLessThan(0.25)
    expect(q8Differences.reduce((a, b) => a + b, 0) / q8Differences.length).toBeLessThan(0.04)
  })

  it('Q4_0 is a quarter of F16 plus scales, loads and generates 64 tokens', async () => {
    const file = await exportStories('Q4_0')
    const ids = await llamaCppGreedyIds(file, promptIds, GREEDY_TOKENS)
    expect(ids).toHaveLength(GREEDY_TOKENS)
    expect(ids.slice(0, 8)).toEqual(baseIds.slice(0, 8))
    expect(statSync(file).size).toBeLessThan(statSync(await exportStories('F16')).size * 0.6)
  })

  it('leaves no temporary file beside the exports', () => {
    const names = readdirSync(temp.dir).filter((name) => name.endsWith('.tmp'))
    expect(names).toEqual([])
    expect(existsSync(join(temp.dir, 'stories-F32.gguf'))).toBe(true)
  })
})
