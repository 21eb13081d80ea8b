/**
 * Small HF model folders with random weights, for exports whose shape no real model in the
 * repository has: a config, seeded random safetensors and a tokenizer copied from `tokenizerDir`.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseModelConfig } from '../../../src-main/engine/checkpoint/hf-config'
import { expectedTensors } from '../../../src-main/engine/checkpoint/hf-layout'
import { writeSafetensors } from '../../../src-main/engine/checkpoint/safetensors-write'
import { seededRandom } from '../../../src-main/engine/infer/sampling'

/** Llama 3.1's `rope_scaling`. */
export const LLAMA3_ROPE_SCALING = {
  rope_type: 'llama3',
  factor: 8,
  low_freq_factor: 1,
  high_freq_factor: 4,
  original_max_position_embeddings: 8192
}

export function writeRandomModel(dir: string, config: Record<string, unknown>, tokenizerDir: string): void {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
  const random = seededRandom(7)
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
  // σ 1/√hidden: each projection keeps its input's scale, so no layer's rounding is amplified.
  const scale = 1 / Math.sqrt(config.hidden_size as number)
  const tensors = expectedTensors(parseModelConfig(config)).map(({ name, shape }) => {
    const count = shape.reduce((a, b) => a * b, 1)
    const isNorm = name.endsWith('norm.weight')
    const data = Float32Array.from({ length: count }, () => (isNorm ? 1 + 0.1 * normal() : scale * normal()))
    return { name, dtype: 'F32' as const, shape, data }
  })
  writeSafetensors(join(dir, 'model.safetensors'), tensors)
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
    copyFileSync(join(tokenizerDir, file), join(dir, file))
  }
}
