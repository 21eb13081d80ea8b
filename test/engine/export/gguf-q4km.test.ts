/**
 * Q4_K_M judged by llama.cpp. stories260K's rows (64 values) are shorter than a k-quant block, so
 * a random Qwen2-shaped model with rows of 256 and 512 (and q/k/v biases) carries stories260K's
 * tokenizer. Our Q4_K and Q6_K blocks are right when llama.cpp, reading them, scores a text as our
 * engine scores it with the weights our decoder gets back from the same blocks.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readModelConfig } from '../../../src-main/engine/checkpoint/hf-config'
import { expectedTensors } from '../../../src-main/engine/checkpoint/hf-layout'
import { openCheckpoint } from '../../../src-main/engine/checkpoint/safetensors'
import { writeSafetensors } from '../../../src-main/engine/checkpoint/safetensors-write'
import { writeGguf } from '../../../src-main/engine/export/gguf'
import { planTensors } from '../../../src-main/engine/export/gguf-model'
import { decodeTensor, encodeTensor } from '../../../src-main/engine/export/gguf-quant'
import { Scorer } from '../../../src-main/engine/infer/scoring'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { STORIES_260K, tempDir } from '../../helpers/temp'
import { disposeLlama, llamaCppGreedyIds, llamaCppTokenLogprobs } from './llama-cpp'
import { writeRandomModel } from './random-model'

const temp = tempDir('fs-gguf-q4km-')
afterAll(async () => {
  await disposeLlama()
  temp.cleanup()
})

const CONFIG = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  vocab_size: 512,
  hidden_size: 256,
  intermediate_size: 512,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  max_position_embeddings: 512,
  tie_word_embeddings: false,
  bos_token_id: 1,
  eos_token_id: 2
}

const TEXT = 'Once upon a time, there was a little girl named Lily. She liked to read books about the sea.'

/** A copy of `modelDir` whose weights are what decoding the Q4_K_M blocks gives back. */
function writeDequantizedModel(modelDir: string, outDir: string): void {
  writeRandomModel(outDir, CONFIG, STORIES_260K)
  const config = readModelConfig(modelDir)
  const checkpoint = openCheckpoint(modelDir)
  try {
    const planned = planTensors(config, 'Q4_K_M', (name) => checkpoint.readFloat32(name))
    const tensors = expectedTensors(config).map(({ name, shape }, i) => {
      const { type, values } = planned[i] // Qwen2: same order and layout as the HF tensors
      return { name, dtype: 'F32' as const, shape, data: decodeTensor(type, encodeTensor(type, values())) }
    })
    writeSafetensors(join(outDir, 'model.safetensors'), tensors)
  } finally {
    checkpoint.close()
  }
}

async function engineLogprobs(modelDir: string, ids: readonly number[]): Promise<number[]> {
  const scorer = await Scorer.open({ modelDir }, { cacheDir: join(temp.dir, 'cache'), threads: 1 })
  try {
    const [row] = await scorer.score([{ inputIds: ids, labels: ids }])
    return row.tokenLogprobs.slice(1) as number[]
  } finally {
    await scorer.release()
  }
}

const maxDifference = (a: number[], b: number[]): number =>
  Math.max(...a.map((value, t) => Math.abs(value - b[t])))

describe('Q4_K_M in llama.cpp', () => {
  const modelDir = join(temp.dir, 'qwen2-256')
  const file = join(temp.dir, 'qwen2-256-Q4_K_M.gguf')
  const ids = [1, ...loadTokenizer(STORIES_260K).encode(TEXT, { addSpecialTokens: false })]
  beforeAll(async () => {
    writeRandomModel(modelDir, CONFIG, STORIES_260K)
    await writeGguf({ modelDir, outFile: file, type: 'Q4_K_M' })
  })

  it('scores a text as our engine scores the decoded blocks, far closer than to the original weights', async () => {
    const dequantizedDir = join(temp.dir, 'qwen2-256-dequantized')
    writeDequantizedModel(modelDir, dequantizedDir)
    const theirs = await llamaCppTokenLogprobs(file, ids)
    const decoded = await engineLogprobs(dequantizedDir, ids)
    const original = await engineLogprobs(modelDir, ids)
    const toDecoded = maxDifference(theirs, decoded)
    // Measured: 0.09 from the decoded weights (llama.cpp also rounds activations to 8 bits for
    // k-quant dot products), 0.78 between decoded and original weights.
    expect(toDecoded).toBeLessThan(0.15)
    expect(maxDifference(decoded, original)).toBeGreaterThan(4 * toDecoded)
  })

  it('generates 32 tokens', async () => {
    expect(await llamaCppGreedyIds(file, ids.slice(0, 4), 32)).toHaveLength(32)
  })
})
