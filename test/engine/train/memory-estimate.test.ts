import { describe, expect, it } from 'vitest'
import { parseModelConfig } from '../../../src-main/engine/checkpoint/hf-config'
import { lossChunksFor } from '../../../src-main/engine/train/chunked-loss'
import {
  estimateTrainingMemory,
  type MemoryEstimateInput
} from '../../../src-main/engine/train/memory-estimate'

/** A small Llama: E 64, I 128, 6 layers, 4 heads of 16 (2 kv heads), vocab 1000, tied embeddings. */
const model = parseModelConfig({
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 6,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 1000,
  tie_word_embeddings: true
})

const lora: MemoryEstimateInput = {
  model,
  adapter: { kind: 'lora', r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] },
  optimizer: { kind: 'adamw', betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 },
  basePrecision: 'fp32',
  recompute: false,
  lossChunks: 1,
  batchSize: 2,
  seqLen: 8,
  recipeNeedsBaseLogits: false,
  processBaselineBytes: 1000
}

describe('estimateTrainingMemory', () => {
  it('stores the frozen base in less memory the lower its precision', () => {
    const weights = (['fp32', 'fp16', 'bf16', 'int8', 'int4'] as const).map(
      (basePrecision) => estimateTrainingMemory({ ...lora, basePrecision }).weights
    )
    const [fp32, fp16, bf16, int8, int4] = weights
    expect(fp16).toBe(bf16)
    expect(int4).toBeLessThan(int8)
    expect(int8).toBeLessThan(fp16)
    expect(fp16).toBeLessThan(fp32)
  })

  it('keeps less of the layers with recomputation, and less of the logits in chunks', () => {
    const whole = estimateTrainingMemory(lora)
    expect(estimateTrainingMemory({ ...lora, recompute: true }).activations).toBeLessThan(whole.activations)
    const chunked = estimateTrainingMemory({ ...lora, lossChunks: 4 })
    expect(chunked.logits).toBeLessThan(whole.logits)
    expect(chunked.activations).toBe(whole.activations)
    // Recipes that read the whole distribution, or the base model's logits, are never chunked.
    expect(estimateTrainingMemory({ ...lora, lossChunks: 4, recipeNeedsFullLogProbs: true }).logits).toBe(
      whole.logits
    )
    const withBase = estimateTrainingMemory({ ...lora, lossChunks: 4, recipeNeedsBaseLogits: true })
    expect(withBase.logits).toBe(2 * whole.logits)
  })

  it('counts the frozen base once per open session', () => {
    const one = estimateTrainingMemory(lora)
    const two = estimateTrainingMemory({ ...lora, openSessions: 2 })
    expect(two.weights).toBe(2 * one.weights)
    expect(two.total - one.total).toBe(one.weights)
  })

  it('refuses a lower-precision base for full fine-tuning, as the engine does', () => {
    const full = { ...lora, adapter: { kind: 'full' as const, freezeEmbeddings: false } }
    expect(() => estimateTrainingMemory({ ...full, basePrecision: 'int4' })).toThrow(
      /base precision int4 applies to LoRA's frozen base/
    )
    const estimate = estimateTrainingMemory(full)
    expect(estimate.weights).toBe(0) // every weight trains: nothing is frozen in the session
    const frozenEmbeddings = estimateTrainingMemory({
      ...full,
      adapter: { kind: 'full', freezeEmbeddings: true }
    })
    expect(frozenEmbeddings.weights).toBeCloseTo((1 + 1.45) * 1000 * 64 * 4, 3) // stored and pre-packed
    expect(frozenEmbeddings.trainable).toBe(estimate.trainable - 1000 * 64 * 4)
  })

  it('adds up to the hand-computed formula for one setting', () => {
    const estimate = estimateTrainingMemory({
      ...lora,
      basePrecision: 'fp16',
      recompute: true,
      lossChunks: 4
    })
    // Matrices: embeddings 1000×64, per layer q 64×64, k and v 32×64, o 64×64, gate, up, down 128×64.
    const matrixValues = 1000 * 64 + 6 * (4096 + 2048 + 2048 + 4096 + 3 * 8192)
    const vectorValues = 6 * 2 * 64 + 64 // two norms per layer and the final norm, float32
    // LoRA r 4: q 4·(64 + 64), v 4·(64 + 32) per layer.
    const trainable = 6 * (4 * 128 + 4 * 96)
    const tokens = 2 * 8
    const oneLayer = tokens * (16 * 64 + 4 * 128 + 2 * 4 * 8) * 4 // kept values per token × 4 bytes
    const expected = {
      weights: matrixValues * 2 + vectorValues * 4,
      trainable: trainable * 4,
      optimizer: 3 * trainable * 4, // gradients and AdamW's two moments
      activations: 6 * tokens * 64 * 4 + oneLayer, // each layer's input, one layer recomputed
      logits: Math.ceil(tokens / 4) * 1000 * 4 * 3, // one chunk: logits, log-softmax, gradient
      // baseline + decoding: its working set and 1.7 float32 copies of one layer's matrices (36,864
      // values, more than a chunk of the head's rows: 250 × 64)
      runtime: 1000 + 180e6 + 1.7 * 36864 * 4,
      total: 181086363.2
    }
    for (const [term, bytes] of Object.entries(expected)) {
      expect(estimate[term as keyof typeof expected], term).toBeCloseTo(bytes, 3)
    }
  })

  it('counts a float32 base with the copies onnxruntime pre-packs, and no decoding', () => {
    const fp32 = estimateTrainingMemory(lora)
    const matrixBytes = (1000 * 64 + 6 * (4096 + 2048 + 2048 + 4096 + 3 * 8192)) * 4
    const vectorBytes = (6 * 2 * 64 + 64) * 4
    expect(fp32.weights).toBeCloseTo((1 + 1.45) * matrixBytes + vectorBytes, 3)
    expect(fp32.runtime).toBe(1000)
  })
})

describe('lossChunksFor', () => {
  const qwen05b = { vocabSize: 151936, hiddenSize: 896 }
  const llama1b = { vocabSize: 128256, hiddenSize: 2048 }
  const run = { batchSize: 4, maxSeqLen: 256, basePrecision: 'fp32' as const, recompute: true }

  it('keeps each chunk of float32 logits under 64 MiB, and cuts nothing without recomputation', () => {
    expect(lossChunksFor(qwen05b, run)).toBe(10) // 622 MB of logits
    expect(lossChunksFor(llama1b, run)).toBe(8) // 525 MB
    expect(lossChunksFor(qwen05b, { ...run, recompute: false })).toBe(1)
    expect(lossChunksFor(qwen05b, { ...run, batchSize: 1, maxSeqLen: 16 })).toBe(1)
  })

  it('keeps each chunk of a decoded head under 64 MiB too', () => {
    expect(lossChunksFor(qwen05b, { ...run, basePrecision: 'int4' })).toBe(10) // logits still decide
    expect(lossChunksFor(llama1b, { ...run, basePrecision: 'int4' })).toBe(16) // a 1.05 GB head
    expect(lossChunksFor(llama1b, { ...run, basePrecision: 'fp16', batchSize: 1, maxSeqLen: 16 })).toBe(16)
  })
})
