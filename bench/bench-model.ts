/**
 * The benchmarks' models: SmolLM-135M's shape (as in bench/reference/torch_common.py) with random
 * weights, written once to a temp folder that bench/inference.ts and bench/train.ts share; and the
 * writer bench/scale.ts uses for bigger shapes.
 */
import { execFileSync } from 'node:child_process'
import { createCipheriv, createHash } from 'node:crypto'
import { existsSync, mkdirSync, statfsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeTextFileAtomically } from '../src-main/engine/checkpoint/atomic-write'
import { parseModelConfig } from '../src-main/engine/checkpoint/hf-config'
import { float32ArrayToBfloat16 } from '../src-main/engine/checkpoint/half-float'
import { expectedTensors } from '../src-main/engine/checkpoint/hf-layout'
import {
  DTYPE_BYTES,
  elementCount,
  SHARD_INDEX_NAME,
  SINGLE_FILE_NAME
} from '../src-main/engine/checkpoint/safetensors'
import { writeSafetensors } from '../src-main/engine/checkpoint/safetensors-write'

/** `quick` keeps 2 of the 30 layers, for a smoke run. */
export function smolLm135mConfig(quick: boolean) {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 576,
    intermediate_size: 1536,
    num_hidden_layers: quick ? 2 : 30,
    num_attention_heads: 9,
    num_key_value_heads: 3,
    vocab_size: 49152,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    max_position_embeddings: 2048,
    tie_word_embeddings: true,
    hidden_act: 'silu',
    bos_token_id: 1,
    eos_token_id: 2
  }
}

/** The benchmarks' models and compiled graphs live here, reused from run to run. */
export const BENCH_DIR = join(tmpdir(), 'finetune-studio-bench')

export function benchPaths(quick: boolean): { modelDir: string; cacheDir: string } {
  return {
    modelDir: join(BENCH_DIR, quick ? 'smollm-135m-shape-quick' : 'smollm-135m-shape'),
    cacheDir: join(BENCH_DIR, 'graph-cache')
  }
}

/** Shards hold at most this many bytes, so writing a model never holds more than one in memory. */
const SHARD_BYTES = 2 ** 30
/** Random values are made this many at a time (bytes of the cipher stream: 2 per value). */
const CHUNK_VALUES = 1 << 24
/** Spread of the reference's N(0, 0.02²) initialisation, as a uniform distribution of the same variance. */
const UNIFORM_SPREAD = 0.02 * Math.sqrt(3)

export type RandomWeightsDtype = 'F32' | 'BF16'

/**
 * The 65,536 values a random 16-bit draw stands for, evenly spaced in (-spread, spread), as the
 * bytes of `dtype`: looking a draw up is far faster than drawing a double per value (an 8B model
 * has 8·10⁹ of them).
 */
function uniformValueTable(dtype: RandomWeightsDtype): Uint8Array {
  const values = Float32Array.from(
    { length: 65536 },
    (_, draw) => ((draw + 0.5) / 65536) * 2 * UNIFORM_SPREAD - UNIFORM_SPREAD
  )
  const typed = dtype === 'F32' ? values : float32ArrayToBfloat16(values)
  return new Uint8Array(typed.buffer)
}

/**
 * A seeded stream of random 16-bit draws: AES-128-CTR over zeros, which runs natively at
 * gigabytes a second and gives the same stream for the same seed.
 */
function randomDrawStream(seed: number): (count: number) => Uint16Array {
  const key = createHash('sha256').update(`bench-model ${seed}`).digest().subarray(0, 16)
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  return (count) => {
    // Copied out: a small Buffer lies in Node's shared pool at an offset that may be odd.
    const draws = new Uint16Array(count)
    new Uint8Array(draws.buffer).set(cipher.update(Buffer.alloc(count * 2)))
    return draws
  }
}

/** One tensor's bytes: norms 1 (as the reference), everything else uniform random. */
function randomTensorBytes(
  name: string,
  count: number,
  dtype: RandomWeightsDtype,
  table: Uint8Array,
  draws: (count: number) => Uint16Array
): Uint8Array {
  const width = DTYPE_BYTES[dtype]
  const bytes = new Uint8Array(count * width)
  if (name.includes('norm')) {
    const one = dtype === 'F32' ? new Float32Array([1]) : float32ArrayToBfloat16(new Float32Array([1]))
    const oneBytes = new Uint8Array(one.buffer)
    for (let i = 0; i < count; i++) bytes.set(oneBytes, i * width)
    return bytes
  }
  for (let start = 0; start < count; start += CHUNK_VALUES) {
    const chunk = draws(Math.min(CHUNK_VALUES, count - start))
    if (width === 2) {
      const out = new Uint16Array(bytes.buffer, start * 2, chunk.length)
      const values = new Uint16Array(table.buffer)
      for (let i = 0; i < chunk.length; i++) out[i] = values[chunk[i]]
    } else {
      const out = new Uint32Array(bytes.buffer, start * 4, chunk.length)
      const values = new Uint32Array(table.buffer)
      for (let i = 0; i < chunk.length; i++) out[i] = values[chunk[i]]
    }
  }
  return bytes
}

/** Consecutive tensors grouped into shards of at most `shardBytes` (a bigger tensor gets its own). */
function groupIntoShards<T extends { bytes: number }>(tensors: readonly T[], shardBytes: number): T[][] {
  const shards: T[][] = [[]]
  let filled = 0
  for (const tensor of tensors) {
    if (filled > 0 && filled + tensor.bytes > shardBytes) {
      shards.push([])
      filled = 0
    }
    shards[shards.length - 1].push(tensor)
    filled += tensor.bytes
  }
  return shards
}

/** Bytes of a random model's weights files (what writeRandomModelFolder needs on disk). */
export function randomModelBytes(config: Record<string, unknown>, dtype: RandomWeightsDtype): number {
  return expectedTensors(parseModelConfig(config)).reduce(
    (sum, { shape }) => sum + elementCount(shape) * DTYPE_BYTES[dtype],
    0
  )
}

/**
 * An HF model folder of `config`'s shape with random weights (spread 0.02, norms 1, as the
 * reference's), written once and reused. Up to `shardBytes` it is one model.safetensors, beyond that
 * shards and their index, as HF writes big models. Every file is written atomically and the one a
 * loader opens first (model.safetensors or the index) last: once it exists, the folder is complete
 * (the benchmarks may run one after the other on the same folder).
 */
export function writeRandomModelFolder(
  modelDir: string,
  config: Record<string, unknown>,
  dtype: RandomWeightsDtype,
  shardBytes = SHARD_BYTES
): string {
  if (existsSync(join(modelDir, SINGLE_FILE_NAME)) || existsSync(join(modelDir, SHARD_INDEX_NAME))) {
    return modelDir
  }
  mkdirSync(modelDir, { recursive: true })
  const needed = randomModelBytes(config, dtype)
  const { bavail, bsize } = statfsSync(modelDir)
  if (needed > bavail * bsize) {
    const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`
    throw new Error(
      `bench: ${modelDir}: the random weights need ${gb(needed)} of disk, ${gb(bavail * bsize)} free`
    )
  }
  writeTextFileAtomically(join(modelDir, 'config.json'), JSON.stringify(config, null, 2))
  const table = uniformValueTable(dtype)
  const draws = randomDrawStream(0)
  const tensors = expectedTensors(parseModelConfig(config)).map(({ name, shape }) => ({
    name,
    shape,
    bytes: elementCount(shape) * DTYPE_BYTES[dtype]
  }))
  const shards = groupIntoShards(tensors, shardBytes)
  const shardName = (i: number): string =>
    shards.length === 1
      ? SINGLE_FILE_NAME
      : `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`
  const weightMap: Record<string, string> = {}
  shards.forEach((shard, i) => {
    const written = shard.map(({ name, shape }) => {
      weightMap[name] = shardName(i)
      return { name, dtype, shape, data: randomTensorBytes(name, elementCount(shape), dtype, table, draws) }
    })
    writeSafetensors(join(modelDir, shardName(i)), written)
  })
  if (shards.length > 1) {
    const totalSize = tensors.reduce((sum, t) => sum + t.bytes, 0)
    const index = { metadata: { total_size: totalSize }, weight_map: weightMap }
    writeTextFileAtomically(join(modelDir, SHARD_INDEX_NAME), JSON.stringify(index, null, 2))
  }
  return modelDir
}

/** The SmolLM-135M-shaped bench model (float32), shared by the benchmarks. */
export function writeRandomModel(quick: boolean): string {
  return writeRandomModelFolder(benchPaths(quick).modelDir, smolLm135mConfig(quick), 'F32')
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * The JSON report of a PyTorch reference script in bench/reference/, run with Debian's PyTorch
 * (/usr/bin/python3); null, with the reason on stderr, when it cannot run here.
 */
export function runTorchReference<T>(script: string, quick: boolean): T | null {
  try {
    const out = execFileSync(
      '/usr/bin/python3',
      [join(import.meta.dirname, 'reference', script), ...(quick ? ['--quick'] : [])],
      {
        encoding: 'utf8',
        maxBuffer: 16 << 20
      }
    )
    return JSON.parse(out) as T
  } catch (error) {
    console.error(`bench: the PyTorch reference failed: ${(error as Error).message.split('\n')[0]}`)
    return null
  }
}
