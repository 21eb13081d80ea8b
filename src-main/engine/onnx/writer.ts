/**
 * Saves a model as `model.onnx` plus one external data file in the same folder. onnxruntime-node
 * loads external data only from inside the model's folder, so both files always sit together.
 * Both are written atomically (temp file + rename), the data file first so that a model file
 * never points at data that is not there yet.
 */
import { randomUUID } from 'node:crypto'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { encodeModel, type OnnxModel } from './proto'
import { assertLocationInsideModelFolder, type OnnxTensor } from './tensor'

export interface SaveModelOptions {
  /** Default 'model.onnx'. */
  fileName?: string
  /** Default `${fileName}.data`. */
  dataFileName?: string
  /** Initializers with at least this many bytes go to the data file. Default 1024. */
  externalThreshold?: number
}

export interface SavedModel {
  modelPath: string
  /** null when no initializer was large enough to be stored externally. */
  dataPath: string | null
  /** Bytes of the data file, padding included. */
  dataBytes: number
  /** Bytes of model.onnx. */
  modelBytes: number
}

/** Offsets in the data file are multiples of this (cache lines; enough for any element type). */
export const EXTERNAL_DATA_ALIGNMENT = 64
/** Node writes at most 2 GiB per call. */
const WRITE_CHUNK_BYTES = 1 << 30

export async function saveModel(
  dir: string,
  model: OnnxModel,
  options: SaveModelOptions = {}
): Promise<SavedModel> {
  const fileName = options.fileName ?? 'model.onnx'
  const dataFileName = options.dataFileName ?? `${fileName}.data`
  const threshold = options.externalThreshold ?? 1024
  assertLocationInsideModelFolder(fileName, 'saveModel')
  assertLocationInsideModelFolder(dataFileName, 'saveModel')
  await mkdir(dir, { recursive: true })

  const { initializers, payloads, dataBytes } = layoutExternalData(
    model.graph.initializers,
    dataFileName,
    threshold
  )
  const modelPath = join(dir, fileName)
  const dataPath = payloads.length > 0 ? join(dir, dataFileName) : null
  if (dataPath) await writeFileAtomically(dataPath, payloads)
  const bytes = encodeModel({ ...model, graph: { ...model.graph, initializers } })
  await writeFileAtomically(modelPath, [{ offset: 0, bytes }])
  return { modelPath, dataPath, dataBytes, modelBytes: bytes.byteLength }
}

interface Payload {
  offset: number
  bytes: Uint8Array
}

/** Moves each large inline initializer into the data file at an aligned offset. */
function layoutExternalData(
  tensors: readonly OnnxTensor[],
  location: string,
  threshold: number
): { initializers: OnnxTensor[]; payloads: Payload[]; dataBytes: number } {
  const payloads: Payload[] = []
  let end = 0
  const initializers = tensors.map((tensor): OnnxTensor => {
    const { data } = tensor
    if (data.kind === 'external') {
      if (data.location === location) {
        throw new Error(
          `saveModel: initializer "${tensor.name}" already points into "${location}", which this save rewrites`
        )
      }
      return tensor
    }
    if (data.bytes.byteLength < threshold) return tensor
    const offset = alignUp(end, EXTERNAL_DATA_ALIGNMENT)
    payloads.push({ offset, bytes: data.bytes })
    end = offset + data.bytes.byteLength
    return { ...tensor, data: { kind: 'external', location, offset, length: data.bytes.byteLength } }
  })
  return { initializers, payloads, dataBytes: end }
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment
}

/** Writes payloads at their offsets into a temp file, then renames it over `path`. Gaps read as zeros. */
async function writeFileAtomically(path: string, payloads: readonly Payload[]): Promise<void> {
  const tempPath = `${path}.tmp-${process.pid}-${randomUUID()}`
  const handle = await open(tempPath, 'w')
  try {
    for (const { offset, bytes } of payloads) {
      for (let start = 0; start < bytes.byteLength; start += WRITE_CHUNK_BYTES) {
        const length = Math.min(WRITE_CHUNK_BYTES, bytes.byteLength - start)
        await writeFully(handle, bytes, start, length, offset + start)
      }
    }
    await handle.sync()
    await handle.close()
    await rename(tempPath, path)
  } catch (error) {
    await handle.close().catch(() => undefined)
    await rm(tempPath, { force: true })
    throw new Error(`saveModel: writing ${path} failed: ${(error as Error).message}`, { cause: error })
  }
}

async function writeFully(
  handle: Awaited<ReturnType<typeof open>>,
  bytes: Uint8Array,
  start: number,
  length: number,
  position: number
): Promise<void> {
  let written = 0
  while (written < length) {
    const { bytesWritten } = await handle.write(bytes, start + written, length - written, position + written)
    written += bytesWritten
  }
}
