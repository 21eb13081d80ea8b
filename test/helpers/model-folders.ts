/**
 * Model folders written on the fly for loading tests: stories260K's config and tokenizer with
 * weights of its shapes, in any float dtype, in one file or sharded with
 * `model.safetensors.index.json` as transformers writes it.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  bfloat16ArrayToFloat32,
  float16ArrayToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16
} from '../../src-main/engine/checkpoint/half-float'
import { openCheckpoint, SHARD_INDEX_NAME } from '../../src-main/engine/checkpoint/safetensors'
import { writeSafetensors } from '../../src-main/engine/checkpoint/safetensors-write'
import { seededRandom } from './random'
import { STORIES_260K } from './temp'

export interface NamedWeights {
  name: string
  shape: number[]
  values: Float32Array
}

/** Random weights of stories260K's tensors: norms near 1, matrices small, as a trained model's are. */
export function randomStoriesWeights(seed: number): NamedWeights[] {
  const random = seededRandom(seed)
  const checkpoint = openCheckpoint(STORIES_260K)
  try {
    return checkpoint
      .names()
      .sort()
      .map((name) => {
        const { shape } = checkpoint.info(name)
        const values = new Float32Array(shape.reduce((a, b) => a * b, 1))
        const isNorm = name.endsWith('norm.weight')
        for (let i = 0; i < values.length; i++) values[i] = (isNorm ? 1 : 0) + (random() - 0.5) * 0.2
        return { name, shape, values }
      })
  } finally {
    checkpoint.close()
  }
}

/** The values as the dtype stores them, widened back: what a model saved in that dtype computes with. */
export function roundedTo(dtype: 'F16' | 'BF16', weights: readonly NamedWeights[]): NamedWeights[] {
  return weights.map((w) => ({
    ...w,
    values:
      dtype === 'BF16'
        ? bfloat16ArrayToFloat32(float32ArrayToBfloat16(w.values))
        : float16ArrayToFloat32(float32ArrayToFloat16(w.values))
  }))
}

/**
 * A model folder at `dir`: weights in `dtype`, in `shards` files (1: `model.safetensors`; more:
 * `model-0000k-of-0000n.safetensors` and the index), with stories260K's config and tokenizer.
 */
export function writeModelFolder(
  dir: string,
  weights: readonly NamedWeights[],
  options: { dtype: 'F32' | 'F16' | 'BF16'; shards: number }
): string {
  mkdirSync(dir, { recursive: true })
  for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    copyFileSync(join(STORIES_260K, file), join(dir, file))
  }
  const tensors = weights.map((w) => ({ name: w.name, dtype: options.dtype, shape: w.shape, data: w.values }))
  if (options.shards === 1) {
    writeSafetensors(join(dir, 'model.safetensors'), tensors)
    return dir
  }
  const weightMap: Record<string, string> = {}
  const perShard = Math.ceil(tensors.length / options.shards)
  for (let k = 0; k < options.shards; k++) {
    const file = `model-${String(k + 1).padStart(5, '0')}-of-${String(options.shards).padStart(5, '0')}.safetensors`
    const part = tensors.slice(k * perShard, (k + 1) * perShard)
    writeSafetensors(join(dir, file), part)
    for (const tensor of part) weightMap[tensor.name] = file
  }
  const totalSize = tensors.reduce((sum, t) => sum + t.data.length * (options.dtype === 'F32' ? 4 : 2), 0)
  writeFileSync(
    join(dir, SHARD_INDEX_NAME),
    JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)
  )
  return dir
}
