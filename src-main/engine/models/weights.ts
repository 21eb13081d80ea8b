/**
 * A model's weights, converted once into the form inference graphs load fastest: one float32 file
 * (`weights.bin`) in a cache folder, referenced by every graph compiled for the model as external
 * data. onnxruntime loads external data only from the model's own folder, so the graphs are saved
 * beside it (see compiled-graph.ts).
 *
 * The folder is keyed by what decides the bytes: the config, the identity (path, size, mtime) of
 * every weights file and of the LoRA adapter merged in, the base precision and WEIGHTS_FORMAT.
 * F16/BF16 checkpoints widen to float32 here; an adapter is merged as W + scaling·B·A. A training
 * run's frozen base may keep its matrices in less memory (base-precision.ts): they are then
 * written in that precision, and graphs decode them as they use them (frozen-matrices.ts).
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { recordCacheUse } from '../cache'
import { replaceFileAtomically, writeTextFileAtomically } from '../checkpoint/atomic-write'
import type { ModelConfig } from '../checkpoint/hf-config'
import { assertCheckpointMatchesConfig, expectedTensors } from '../checkpoint/hf-layout'
import {
  loraScaling,
  mergeLoraWeight,
  readLoraAdapter,
  ADAPTER_CONFIG_NAME,
  ADAPTER_WEIGHTS_NAME,
  type LoraDelta
} from '../checkpoint/peft'
import { openCheckpoint } from '../checkpoint/safetensors'
import { gateOn, gateRows, runTimeZero, type GraphBuilder, type Tensor } from '../graph/index'
import type { DType } from '../onnx/dtype'
import type { BasePrecision } from './base-precision'
import { decodeInGraph, encodeFrozenMatrix, STORED_LAYOUT } from './frozen-matrices'
import type { ParamProvider } from './llama'

export const WEIGHTS_FILE = 'weights.bin'
const MANIFEST_FILE = 'weights.json'
/** Bump when the layout of weights.bin or the conversion changes: old cache folders are then ignored. */
const WEIGHTS_FORMAT = 1
/** Tensor offsets in weights.bin are multiples of this (cache lines). */
const ALIGNMENT = 64

export interface WeightsSource {
  /** An HF model folder: config.json + model.safetensors or a sharded index. */
  modelDir: string
  /** A PEFT LoRA folder merged into the weights, or null. */
  adapterDir?: string | null
  /** How the matrices are stored (base-precision.ts); default fp32. Norms and biases stay float32. */
  precision?: BasePrecision
}

interface ManifestEntry {
  name: string
  shape: number[]
  /** Where the float32 values start (a matrix stored in another precision: where its parts do). */
  offset: number
  /** A matrix stored in a base precision other than fp32 (frozen-matrices.ts), part by part. */
  stored?: { precision: BasePrecision; parts: { dtype: DType; dims: number[]; offset: number }[] }
}

interface Manifest {
  format: number
  modelDir: string
  adapterDir: string | null
  precision?: BasePrecision
  tensors: ManifestEntry[]
}

/** Frozen weights by name, as graph tensors; `rows` looks up embedding rows without decoding the rest. */
export interface FrozenParams extends ParamProvider {
  rows(name: string, shape: readonly number[], ids: Tensor): Tensor
  /** Whether matrix `name` is decoded from a lower precision at each use (not a float32 initializer). */
  decoded(name: string): boolean
  /**
   * Rows [start, end) of matrix `name` as float32, decoded on their own (a read segment gated on
   * `near`), so a matrix as large as the LM head is never decoded whole.
   */
  rowBlock(name: string, shape: readonly number[], rows: readonly [number, number], near: Tensor): Tensor
}

/** The converted weights of one model (+ adapter), ready to be referenced by graphs. */
export class PreparedWeights {
  private readonly byName: ReadonlyMap<string, ManifestEntry>

  constructor(
    /** The cache folder holding weights.bin; graphs are saved here too. */
    readonly dir: string,
    readonly config: ModelConfig,
    entries: readonly ManifestEntry[]
  ) {
    this.byName = new Map(entries.map((entry) => [entry.name, entry]))
  }

  has(name: string): boolean {
    return this.byName.has(name)
  }

  /**
   * A provider of frozen weights for graph `g`: external-data initializers pointing into
   * weights.bin. Asking twice for a float32 tensor (tied embeddings) gives the same tensor; a matrix
   * stored in another precision is decoded anew at every use, inside a read segment, so that no
   * decoded copy outlives the product that needs it (the backward pass decodes again).
   */
  provider(g: GraphBuilder): FrozenParams {
    const made = new Map<string, Tensor[]>()
    const stored = (name: string, shape: readonly number[]) => {
      const entry = this.entry(name, shape)
      let parts = made.get(name)
      if (!parts) {
        const layout = entry.stored?.parts ?? [
          { dtype: 'float32' as const, dims: entry.shape, offset: entry.offset }
        ]
        parts = layout.map((part, i) =>
          g.externalInitializer(entry.stored ? `${name}:${i}` : name, part.dtype, part.dims, {
            location: WEIGHTS_FILE,
            offset: part.offset
          })
        )
        made.set(name, parts)
      }
      return { entry, parts }
    }
    const decode = (entry: ManifestEntry, inputs: readonly Tensor[]) => {
      const matrix = { precision: entry.stored?.precision ?? 'fp32', cols: entry.shape[1] }
      return g.recomputedOnRead(() => decodeInGraph(matrix, inputs))
    }
    const param = (name: string, shape: readonly number[], near?: Tensor) => {
      const { entry, parts } = stored(name, shape)
      if (!entry.stored) return parts[0]
      // Gated on the activation it multiplies: decoded from constants alone, onnxruntime would
      // fold every matrix into a float32 initializer at load, the whole model decoded at once.
      const zero = near ? runTimeZero(near) : null
      return decode(entry, zero ? parts.map((part) => gateOn(part, zero)) : parts)
    }
    const rowBlock = (
      name: string,
      shape: readonly number[],
      [start, end]: readonly [number, number],
      near: Tensor
    ) => {
      const { entry, parts } = stored(name, shape)
      const zero = runTimeZero(near)
      const block = parts.map((part) => gateRows(part, zero, start, end))
      return entry.stored ? decode(entry, block) : block[0]
    }
    const rows = (name: string, shape: readonly number[], ids: Tensor) => {
      const { entry, parts } = stored(name, shape)
      return decodeInGraph({ precision: entry.stored?.precision ?? 'fp32', cols: entry.shape[1] }, parts, ids)
    }
    const decoded = (name: string) => this.byName.get(name)?.stored !== undefined
    return Object.assign(param, { rows, decoded, rowBlock })
  }

  private entry(name: string, shape: readonly number[]): ManifestEntry {
    const entry = this.byName.get(name)
    if (!entry) throw new Error(`weights ${this.dir}: no tensor named "${name}"`)
    if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
      throw new Error(
        `weights ${this.dir}: "${name}" is [${entry.shape.join(', ')}], the graph wants [${shape.join(', ')}]`
      )
    }
    return entry
  }
}

/**
 * The converted weights of `source` under `cacheDir`, converting them first unless a previous
 * run already did. Synchronous: it runs in a job worker, where blocking is fine.
 */
export function prepareWeights(
  source: WeightsSource,
  config: ModelConfig,
  cacheDir: string
): PreparedWeights {
  const dir = join(cacheDir, weightsKey(source, config))
  const tensors = cachedTensors(dir) ?? writeConvertedWeights(source, config, dir)
  // Pruning (engine/cache.ts) keeps what was used lately.
  recordCacheUse(dir)
  return new PreparedWeights(dir, config, tensors)
}

/** The tensors of the weights converted into `dir` earlier, or null when there are none to reuse. */
function cachedTensors(dir: string): ManifestEntry[] | null {
  const manifestPath = join(dir, MANIFEST_FILE)
  if (!existsSync(manifestPath) || !existsSync(join(dir, WEIGHTS_FILE))) return null
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest
  return manifest.format === WEIGHTS_FORMAT ? manifest.tensors : null
}

function writeConvertedWeights(source: WeightsSource, config: ModelConfig, dir: string): ManifestEntry[] {
  mkdirSync(dir, { recursive: true })
  const tensors = convertWeights(source, config, join(dir, WEIGHTS_FILE))
  const manifest: Manifest = {
    format: WEIGHTS_FORMAT,
    modelDir: source.modelDir,
    adapterDir: source.adapterDir ?? null,
    precision: source.precision ?? 'fp32',
    tensors
  }
  // Written last: its presence says weights.bin is complete.
  writeTextFileAtomically(join(dir, MANIFEST_FILE), JSON.stringify(manifest))
  return tensors
}

/** Hash of everything that decides the converted bytes, without reading any weights. */
function weightsKey(source: WeightsSource, config: ModelConfig): string {
  const hash = createHash('sha256')
  const precision = source.precision ?? 'fp32'
  // fp32 folders keep the key they always had, so their compiled graphs stay cached.
  hash.update(
    JSON.stringify({
      format: WEIGHTS_FORMAT,
      config: config.raw,
      ...(precision === 'fp32' ? {} : { precision, layout: STORED_LAYOUT })
    })
  )
  for (const file of identityFiles(
    source.modelDir,
    (name) => name.endsWith('.safetensors') || name.endsWith('.index.json')
  )) {
    hash.update(fileIdentity(file))
  }
  if (source.adapterDir) {
    for (const name of [ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME])
      hash.update(fileIdentity(join(source.adapterDir, name)))
  }
  return hash.digest('hex').slice(0, 24)
}

function identityFiles(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir)
    .filter(keep)
    .sort()
    .map((name) => join(dir, name))
}

/** Where a file is, how big and when it last changed: enough to notice a replaced checkpoint. */
function fileIdentity(path: string): string {
  let stat
  try {
    stat = statSync(path)
  } catch (error) {
    throw new Error(`prepareWeights: cannot read ${path}: ${(error as Error).message}`)
  }
  return `${realpathSync(path)}\0${stat.size}\0${stat.mtimeMs}\n`
}

/**
 * Writes every tensor the config implies, with the adapter merged in: matrices in the source's
 * precision (part after part), everything else as float32; returns their places.
 */
function convertWeights(source: WeightsSource, config: ModelConfig, path: string): ManifestEntry[] {
  const checkpoint = openCheckpoint(source.modelDir)
  const precision = source.precision ?? 'fp32'
  const entries: ManifestEntry[] = []
  try {
    assertCheckpointMatchesConfig(config, checkpoint, source.modelDir)
    const deltas = source.adapterDir ? adapterDeltas(source.adapterDir, config) : new Map<string, LoraDelta>()
    replaceFileAtomically(path, (fd) => {
      let offset = 0
      const append = (data: ArrayBufferView): number => {
        offset = Math.ceil(offset / ALIGNMENT) * ALIGNMENT
        const at = offset
        writeFully(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at)
        offset += data.byteLength
        return at
      }
      for (const { name, shape } of expectedTensors(config)) {
        const values = checkpoint.readFloat32(name)
        const delta = deltas.get(name)
        const merged = delta ? mergeLoraWeight(values, delta) : values
        if (precision === 'fp32' || shape.length !== 2) {
          entries.push({ name, shape, offset: append(merged) })
          continue
        }
        const matrix = encodeFrozenMatrix(precision, merged, shape[0], shape[1])
        const parts = matrix.parts.map((part) => ({
          dtype: part.dtype,
          dims: part.dims,
          offset: append(part.data)
        }))
        entries.push({ name, shape, offset: parts[0].offset, stored: { precision, parts } })
      }
    })
  } finally {
    checkpoint.close()
  }
  return entries
}

function writeFully(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done)
}

/** The adapter's modules keyed by the weight they change (`<module>.weight`). */
export function adapterDeltas(adapterDir: string, config: ModelConfig): Map<string, LoraDelta> {
  const adapter = readLoraAdapter(adapterDir, config)
  const scaling = loraScaling(adapter.config)
  const deltas = new Map<string, LoraDelta>()
  for (const module of adapter.modules) {
    deltas.set(`${module.modulePath}.weight`, { ...module, r: adapter.config.r, scaling })
  }
  return deltas
}
