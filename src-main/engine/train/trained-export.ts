/**
 * What a completed run writes as its result: the full model folder, or the PEFT adapter (and with
 * mergeLora the merged model in `<out>/merged`), from the step program's trained tensors.
 */
import { join } from 'node:path'
import { writeFolderAtomically } from '../checkpoint/atomic-write'
import type { ModelConfig } from '../checkpoint/hf-config'
import {
  exportFullModel,
  exportLoraAdapter,
  exportMergedModel,
  exportedLoraConfig,
  writeExportFiles
} from './export'
import type { StepProgram } from './step-program'
import type { TrainConfig } from './train-config'

export interface ExportedFolder {
  dir: string
  files: string[]
}

export interface TrainedExport {
  /** The adapter (LoRA) or model folder (full) in outDir. */
  exported: ExportedFolder & { kind: 'lora' | 'full' }
  /** `<out>/merged` when mergeLora. */
  merged: ExportedFolder | null
}

export function exportTrained(config: TrainConfig, model: ModelConfig, program: StepProgram): TrainedExport {
  const state = program.exportState()
  const { outDir, modelDir } = config
  if (config.adapter.kind === 'full') {
    const files = writeExportFiles(outDir, (dir) => exportFullModel(dir, modelDir, model, state.params))
    return { exported: { kind: 'full', dir: outDir, files }, merged: null }
  }
  const lora = program.loraConfig
    ? { ...program.loraConfig, baseModelNameOrPath: modelDir }
    : exportedLoraConfig(config.adapter, modelDir)
  const mergedDir = join(outDir, 'merged')
  const merged = config.mergeLora
    ? {
        dir: mergedDir,
        files: writeFolderAtomically(mergedDir, (dir) =>
          exportMergedModel(dir, modelDir, model, lora, state.params)
        )
      }
    : null
  const files = writeExportFiles(outDir, (dir) => exportLoraAdapter(dir, state.params, lora, model))
  return { exported: { kind: 'lora', dir: outDir, files }, merged }
}
