/**
 * Exports: a base model, a run's result or a training checkpoint written for other tools (a PEFT
 * adapter folder, a merged HF folder, a GGUF file with an Ollama Modelfile beside it), and the
 * dataset files datasets.export writes into the store; each recorded with what it came from.
 * The choices (dtypes, GGUF types) are plain lists in ../export-options.ts.
 */
import { z } from 'zod'
import { GGUF_EXPORT_TYPES, HF_EXPORT_DTYPES } from '../export-options'
import { call, id } from './shared'

export type { GgufExportType, HfExportDtype } from '../export-options'

export type WeightsExportFormat = 'peft' | 'hf' | 'gguf'

export type ExportSourceKind = 'model' | 'run' | 'checkpoint' | 'dataset'
export type ExportStatus = 'running' | 'completed' | 'failed' | 'cancelled'

/** One export and its lineage. Ids of sources removed since are null; the label stays. */
export interface ExportRecord {
  id: number
  sourceKind: ExportSourceKind
  baseModelId: number | null
  runId: number | null
  checkpointId: number | null
  /** The checkpoint's step (kept when the checkpoint is removed). */
  step: number | null
  datasetId: number | null
  datasetVersionId: number | null
  sourceLabel: string
  format: WeightsExportFormat | 'jsonl'
  /** hf: its dtype; gguf: its tensor type; jsonl: its layout (messages, sharegpt, …). */
  variant: string
  /** A folder (peft, hf) or a file (gguf, jsonl). */
  path: string
  /** Written into the store (exports/<id>/), so removed with the record; else a path the user named. */
  inStore: boolean
  bytes: number | null
  status: ExportStatus
  error: string | null
  jobId: string | null
  createdAt: string
  finishedAt: string | null
}

/** exports.start's answer: the record (status running) and the job that writes it. */
export interface ExportStarted {
  jobId: string
  export: ExportRecord
}

const weightsSource = {
  baseModelId: id.optional(),
  runId: id.optional(),
  checkpointId: id.optional()
}

export const exportCalls = {
  'exports.start': call<ExportStarted>()(
    'Export a base model, a completed run\'s result or a checkpoint as a PEFT adapter, a merged HF folder or a GGUF file (job "engine.export"); into the store unless a path is given.',
    z
      .object({
        ...weightsSource,
        format: z.enum(['peft', 'hf', 'gguf']),
        /** hf only. */
        dtype: z.enum(HF_EXPORT_DTYPES).default('float16'),
        /** gguf only. */
        ggufType: z.enum(GGUF_EXPORT_TYPES).default('F16'),
        /** A folder (peft, hf) or a .gguf file, outside the store; absent: the store's exports/<id>/. */
        path: z.string().min(1).optional(),
        overwrite: z.boolean().default(false)
      })
      .strict()
      .refine(
        (v) => [v.baseModelId, v.runId, v.checkpointId].filter((value) => value !== undefined).length === 1,
        { message: 'give exactly one of baseModelId, runId and checkpointId' }
      )
  ),
  'exports.list': call<ExportRecord[]>()(
    'Exports, newest first; optionally those of one base model, run or checkpoint.',
    z.object(weightsSource).strict()
  ),
  'exports.saveCopy': call<{ path: string; bytes: number }>()(
    "Save a copy of a completed export to a path the user names (the desktop app's Download): a file as it is, a folder as a .tar.",
    z.object({ id, path: z.string().min(1), overwrite: z.boolean().default(false) }).strict()
  ),
  'exports.delete': call<{ deleted: boolean; filesRemoved: boolean }>()(
    'Forget an export; its files are removed when they are in the store (a path the user named is left alone). A running export is refused: cancel its job first.',
    z.object({ id }).strict()
  )
} as const
