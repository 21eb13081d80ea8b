/**
 * Exports a model as one GGUF file that llama.cpp (and Ollama, LM Studio, …) loads: a base model
 * folder, with a PEFT adapter merged in, or a training checkpoint's weights. The header (metadata
 * and tensor infos) is computed from the config alone; tensors are then read, converted and
 * written one at a time, so a large model is never held whole. The file is written under a
 * temporary name beside `outFile` and renamed into place when complete.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import { errorNamingPath, syncDirectoryEntries, temporaryPathBeside } from '../checkpoint/atomic-write'
import { readModelConfig } from '../checkpoint/hf-config'
import { assertCheckpointMatchesConfig } from '../checkpoint/hf-layout'
import { mergeLoraWeight } from '../checkpoint/peft'
import { elementCount, openCheckpoint } from '../checkpoint/safetensors'
import { adapterDeltas, type WeightsSource } from '../models/weights'
import { checkpointWeightsSource } from '../train/checkpoint-weights'
import { encodeGgufHeader } from './gguf-file'
import { GGUF_FILE_TYPES, modelMetadata, planTensors, type GgufFileType } from './gguf-model'
import { encodedByteLength, encodeTensor, GGML_TYPE } from './gguf-quant'
import { tokenizerMetadata } from './gguf-vocab'

export { GGUF_FILE_TYPES, type GgufFileType } from './gguf-model'

export interface WriteGgufOptions {
  /** The HF model folder: config, tokenizer and (unless a full fine-tuning checkpoint) weights. */
  modelDir: string
  /** A PEFT LoRA folder merged into the weights. */
  adapterDir?: string | null
  /** A training checkpoint of a run on `modelDir`, exported instead of the base weights. */
  checkpointDir?: string | null
  outFile: string
  type: GgufFileType
  /** `general.name`, the name tools show; default the model folder's name. */
  name?: string
  /** Called after each tensor with tensors written and the total. */
  onProgress?: (done: number, total: number) => void
  /** Checked between tensors; an abort removes the partial file and rejects. */
  signal?: AbortSignal
}

export interface WrittenGguf {
  file: string
  bytes: number
  tensors: number
}

export async function writeGguf(options: WriteGgufOptions): Promise<WrittenGguf> {
  const { modelDir, outFile, type } = options
  if (!(GGUF_FILE_TYPES as readonly string[]).includes(type)) {
    throw new Error(
      `writeGguf: type must be one of ${GGUF_FILE_TYPES.join(', ')}, got ${JSON.stringify(type)}`
    )
  }
  const source = weightsSource(options)
  const config = readModelConfig(source.modelDir)
  const checkpoint = openCheckpoint(source.modelDir)
  try {
    assertCheckpointMatchesConfig(config, checkpoint, source.modelDir)
    const deltas = source.adapterDir ? adapterDeltas(source.adapterDir, config) : null
    const read = (name: string): Float32Array => {
      const delta = deltas?.get(name)
      return delta ? mergeLoraWeight(checkpoint.readFloat32(name), delta) : checkpoint.readFloat32(name)
    }
    const tensors = planTensors(config, type, read)
    const name = options.name ?? basename(modelDir)
    const metadata = [...modelMetadata(config, type, name), ...tokenizerMetadata(modelDir, config)]
    const { header, offsets, dataBytes } = encodeGgufHeader(
      metadata,
      tensors.map((t) => ({
        name: t.name,
        ne: t.ne,
        ggmlType: GGML_TYPE[t.type],
        byteLength: encodedByteLength(t.type, elementCount(t.ne))
      }))
    )
    await writeFileAtomically(outFile, async (fd) => {
      writeAll(fd, header, 0)
      for (let i = 0; i < tensors.length; i++) {
        if (options.signal?.aborted) throw new Error(`writeGguf: ${outFile}: aborted`)
        writeAll(fd, encodeTensor(tensors[i].type, tensors[i].values()), header.byteLength + offsets[i])
        options.onProgress?.(i + 1, tensors.length)
        // Lets an abort (a cancel message to a worker) arrive between tensors.
        await new Promise((resolve) => setImmediate(resolve))
      }
      // The last tensor's padding too: the file is exactly header + aligned data.
      ftruncateSync(fd, header.byteLength + dataBytes)
    })
    return { file: outFile, bytes: header.byteLength + dataBytes, tensors: tensors.length }
  } finally {
    checkpoint.close()
  }
}

function weightsSource(options: WriteGgufOptions): WeightsSource {
  const { modelDir, adapterDir, checkpointDir } = options
  if (checkpointDir && adapterDir) {
    throw new Error(`writeGguf: give an adapter (${adapterDir}) or a checkpoint (${checkpointDir}), not both`)
  }
  return checkpointDir ? checkpointWeightsSource(checkpointDir, modelDir) : { modelDir, adapterDir }
}

/** Writes all of `bytes` at `position` (a short write continues). */
function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done)
}

/**
 * replaceFileAtomically (checkpoint/atomic-write.ts) for a writer that awaits between writes: the
 * export runs for minutes and must stay cancellable.
 */
async function writeFileAtomically(path: string, write: (fd: number) => Promise<void>): Promise<void> {
  const temporary = temporaryPathBeside(path)
  let fd: number | null = null
  try {
    fd = openSync(temporary, 'w')
    await write(fd)
    fsyncSync(fd)
    closeSync(fd)
    fd = null
    renameSync(temporary, path)
    syncDirectoryEntries(dirname(path))
  } catch (error) {
    if (fd !== null) closeSync(fd)
    rmSync(temporary, { force: true })
    throw errorNamingPath(error, path)
  }
}
