/**
 * Writes one export of weights: a PEFT adapter folder, a merged HF folder in a chosen dtype, or a
 * GGUF file with an Ollama Modelfile beside it. Everything is written under a temporary name beside
 * the destination and renamed into place at the end, so a cancel or a kill leaves the destination
 * as it was. The job runs in a process of its own: a cancel kills it, and the temporaries it
 * leaves carry its (then dead) process id, so the next writer there removes them.
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { GgufExportType, HfExportDtype, WeightsExportFormat } from '../../../src-preload/contract'
import { writeFolderAtomically } from '../../engine/checkpoint/atomic-write'
import { copyPeftAdapter, writeMergedModelFolder } from '../../engine/export/hf-folder'
import { checkpointWeightsSource } from '../../engine/train/checkpoint-weights'
import type { JobKind } from '../protocol'
import { writeGgufExport } from './gguf-export'

export const ENGINE_EXPORT_JOB = 'engine.export'

export interface EngineExportInput {
  format: WeightsExportFormat
  modelDir: string
  /** A LoRA adapter over modelDir (a run's result), or null. */
  adapterDir: string | null
  /** A training checkpoint of a run on modelDir (see checkpoint-weights.ts); then adapterDir is null. */
  checkpointDir: string | null
  dtype: HfExportDtype
  ggufType: GgufExportType
  /** The folder (peft, hf) or the .gguf file to write; replaced if it exists. */
  outPath: string
}

export interface EngineExportOutput {
  path: string
  /** Files written (names in the folder, or the GGUF file and its Modelfile). */
  files: string[]
  bytes: number
}

/** Bytes of a file, or of the files in a folder (exports have no subfolders). */
export function sizeOnDisk(path: string): number {
  const stat = statSync(path)
  if (stat.isFile()) return stat.size
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((sum, entry) => sum + statSync(join(path, entry.name)).size, 0)
}

export const engineExportJob: JobKind<EngineExportInput, EngineExportOutput> = {
  kind: ENGINE_EXPORT_JOB,
  summary: 'Export a model, a run result or a checkpoint as a PEFT adapter, a merged HF folder or GGUF',
  async run(input, ctx) {
    const weights = input.checkpointDir
      ? checkpointWeightsSource(input.checkpointDir, input.modelDir)
      : { modelDir: input.modelDir, adapterDir: input.adapterDir }
    const source = { modelDir: weights.modelDir, adapterDir: weights.adapterDir ?? null }
    if (input.format === 'gguf') {
      const files = await writeGgufExport({
        ...source,
        outFile: input.outPath,
        type: input.ggufType,
        signal: ctx.signal,
        onProgress: (done, total) => ctx.progress(done, total, 'writing GGUF')
      })
      return { path: input.outPath, files, bytes: sizeOnDisk(input.outPath) }
    }
    const files = writeFolderAtomically(input.outPath, (dir) => {
      if (input.format === 'hf') {
        return writeMergedModelFolder({
          ...source,
          outDir: dir,
          dtype: input.dtype,
          onTensor: (done, total) => ctx.progress(done, total, `writing ${input.dtype} tensors`)
        })
      }
      if (!source.adapterDir) {
        throw new Error(
          `engine.export: a PEFT adapter needs LoRA weights; ${input.checkpointDir ?? input.modelDir} is a whole model (export it as hf or gguf)`
        )
      }
      return copyPeftAdapter(source.adapterDir, dir)
    })
    return { path: input.outPath, files, bytes: sizeOnDisk(input.outPath) }
  }
}
