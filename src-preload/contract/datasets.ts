/** Datasets: their versions, importing files into them and exporting them. */
import { z } from 'zod'
import type { Conversation } from './conversation'
import { sampleFilterSchema } from './samples'
import { call, id, noInput, page, split, tagList, type Split } from './shared'

export interface DatasetSummary {
  id: number
  name: string
  description: string
  createdAt: string
  /** Live (not deleted) samples now. */
  sampleCount: number
  versionCount: number
  latestVersion: { id: number; version: number; contentHash: string; sampleCount: number } | null
}

export interface DatasetVersionSummary {
  id: number
  datasetId: number
  version: number
  contentHash: string
  sampleCount: number
  note: string
  createdAt: string
}

export interface ImportResult {
  /** The job that ran the import (its job.progress events carried the progress). */
  jobId: string
  dataset: DatasetSummary
  imported: number
  fileType: ImportFileType
  mapping: ImportMapping
  /**
   * Rows that could not be imported, with why (the first 1,000; badRowCount counts all). With
   * onBadRows 'abort' any of them aborts the import: the call fails with code 'invalid_input' and
   * details {badRows, badRowCount, goodRowCount}, and nothing is imported. A file without a good
   * row (goodRowCount 0) fails the same way with either onBadRows: no empty dataset is made.
   */
  badRows: { file: string; line: number; reason: string }[]
  badRowCount: number
  /** What was imported but not as the file holds it, e.g. text that was not UTF-8 (read as U+FFFD). */
  warnings: string[]
  /** The version cut after the import, when asked for. */
  version: DatasetVersionSummary | null
}

/** File containers an import reads. */
export type ImportFileType = 'jsonl' | 'json' | 'csv' | 'parquet' | 'txt'
/** Row formats an import understands; each is normalised to a Conversation. */
export type ImportFormat = 'messages' | 'sharegpt' | 'alpaca' | 'prompt-completion' | 'preference' | 'text'
/** Formats an export writes (JSONL). */
export type ExportFormat = 'messages' | 'sharegpt' | 'alpaca' | 'text'
/**
 * How a .txt file becomes samples, as Hugging Face datasets' text loader (`sample_by`) does: one
 * per line, one per paragraph (blank-line separated), or the whole file as one.
 */
export type TextSampleUnit = 'line' | 'paragraph' | 'document'

/**
 * Which source column feeds which field of a format. Fields per format (the other columns are
 * kept as the sample's metadata):
 *   messages          messages, tools?, system?
 *   sharegpt          conversations, tools?, system?
 *   alpaca            instruction, input?, output, history?, system?, reasoning?
 *   prompt-completion prompt, completion, system?, reasoning?, label?   (label: unpaired preference)
 *   preference        chosen, rejected, prompt?, system?   (prompt absent: chosen and rejected are
 *                     whole conversations sharing their prompt)
 *   text              text   (raw text for continued pre-training: Conversation.text)
 * A column name may be a dotted path into a nested column ("question.stem"; a list index is a
 * number: "choices.0"). A field may instead be composed by a template: `templates[field]` is a Jinja
 * template over the row (e.g. a question and its lettered choices); it wins over `columns[field]`.
 * One column may feed only one field (use a template to use it twice).
 * `reasoning` is the reasoning of the answer: the last assistant turn's reasoning_content.
 * Message objects are read as {role, content} or {from, value} alike; content given as a list of
 * parts (OpenAI's {type, text} or LLaMA-Factory v1's {type, value}) is sorted by type: text parts
 * are joined into the content, reasoning parts into reasoning_content, tool_call parts become
 * tool_calls, each tool_response part a tool turn after the message, and image/video/audio parts
 * are kept in the message's metadata (`media_parts`, each with its offset in the content; export
 * puts them back in place). reasoning_content, reasoning or thinking (the first that holds text)
 * becomes reasoning_content; other keys are kept as the message's metadata.
 */
export interface ImportMapping {
  format: ImportFormat
  columns: Partial<Record<ImportColumnField, string>>
  templates?: Partial<Record<ImportColumnField, string>>
}
export type ImportColumnField =
  | 'messages'
  | 'conversations'
  | 'tools'
  | 'system'
  | 'instruction'
  | 'input'
  | 'output'
  | 'history'
  | 'prompt'
  | 'completion'
  | 'chosen'
  | 'rejected'
  | 'reasoning'
  | 'text'
  | 'label'

/**
 * How auto-mapping filled one field, and why; the alternatives it passed over (another column, or a
 * template), each with why one might want it. The preview offers them; choosing one changes the mapping.
 */
export interface ImportFieldChoice {
  field: ImportColumnField
  /** What was chosen: a column (or path) or a template. */
  chosen: ImportFieldSource
  why: string
  alternatives: (ImportFieldSource & { why: string })[]
}
export type ImportFieldSource =
  { column: string; template?: undefined } | { template: string; column?: undefined }

export interface ImportPreviewRow {
  /** 1-based line (JSONL, CSV: the line the record starts on) or record number (JSON, Parquet). */
  line: number
  /** The source row; long strings cut to 2,000 characters. */
  raw: Record<string, unknown>
  /** The row normalised with the mapping, or null when it cannot be (see error). */
  conversation: Conversation | null
  error: string | null
}

export interface ImportPreview {
  path: string
  fileType: ImportFileType
  /** Every column seen in the previewed rows, in first-seen order. */
  columns: string[]
  /** What auto-detection chose (null when nothing fits: the user must map columns). */
  detected: ImportMapping | null
  /** The mapping the rows below were normalised with: the one given, else the detected one. */
  mapping: ImportMapping | null
  /** Why detection chose what it did, the columns kept as metadata, guesses to check. */
  notes: string[]
  /** For each field detection filled: what it chose, why, and the alternatives (see ImportFieldChoice). */
  fieldChoices: ImportFieldChoice[]
  rows: ImportPreviewRow[]
}

export interface DatasetDetail extends DatasetSummary {
  updatedAt: string
  /** Samples not deleted, per split. */
  splits: Record<Split, number>
  /** Soft-deleted samples, purged at the next cut. */
  deletedCount: number
  /** Live samples with more than one revision. */
  editedCount: number
  tags: { tag: string; count: number }[]
}

export interface ExportResult {
  jobId: string
  path: string
  /** The export's record when written into the store (no path given): downloadable from the served UI. */
  exportId: number | null
  written: number
  /** Samples the format cannot express (e.g. tool calls in Alpaca), with why; not written. */
  skipped: { sampleId: number | null; position: number | null; reason: string }[]
}

export interface VersionSampleRow {
  position: number
  sampleId: number | null
  sampleRevision: number
  conversation: Conversation
  tags: string[]
  split: Split
  rating: number | null
  contentHash: string
}

const importColumnField = z.enum([
  'messages',
  'conversations',
  'tools',
  'system',
  'instruction',
  'input',
  'output',
  'history',
  'prompt',
  'completion',
  'chosen',
  'rejected',
  'reasoning',
  'text',
  'label'
])
/** Every field a mapping may fill, for callers that list them (the CLI's --map). */
export const IMPORT_COLUMN_FIELDS: readonly ImportColumnField[] = importColumnField.options
const importFormat = z.enum(['messages', 'sharegpt', 'alpaca', 'prompt-completion', 'preference', 'text'])
const importMappingSchema = z
  .object({
    format: importFormat,
    columns: z
      .object({
        messages: z.string().min(1),
        conversations: z.string().min(1),
        tools: z.string().min(1),
        system: z.string().min(1),
        instruction: z.string().min(1),
        input: z.string().min(1),
        output: z.string().min(1),
        history: z.string().min(1),
        prompt: z.string().min(1),
        completion: z.string().min(1),
        chosen: z.string().min(1),
        rejected: z.string().min(1),
        reasoning: z.string().min(1),
        text: z.string().min(1),
        label: z.string().min(1)
      })
      .partial()
      .strict()
      .default({}),
    templates: z.partialRecord(importColumnField, z.string().min(1).max(20_000)).optional()
  })
  .strict()
const importSource = {
  path: z.string().min(1),
  fileType: z.enum(['auto', 'jsonl', 'json', 'csv', 'parquet', 'txt']).default('auto'),
  /** 'auto' detects the format; `mapping`, when given, wins over both. */
  format: z.union([z.literal('auto'), importFormat]).default('auto'),
  mapping: importMappingSchema.optional(),
  /** How a .txt file is cut into samples (see TextSampleUnit). */
  textUnit: z.enum(['line', 'paragraph', 'document']).default('paragraph')
}
/** Exactly one source for an export: a frozen version, or a dataset's live samples (filtered). */
const exportSource = {
  versionId: id.optional(),
  datasetId: id.optional(),
  filter: sampleFilterSchema.default({})
}

export const datasetCalls = {
  'datasets.list': call<DatasetSummary[]>()('Datasets with their latest version.', noInput),
  'datasets.create': call<DatasetSummary>()(
    'Create an empty dataset.',
    z
      .object({ name: z.string().trim().min(1).max(200), description: z.string().max(5000).default('') })
      .strict()
  ),

  'datasets.cutVersion': call<DatasetVersionSummary>()(
    'Freeze the dataset as it is now into an immutable version identified by a content hash.',
    z.object({ id, note: z.string().max(5000).default('') }).strict()
  ),
  'datasets.versions': call<DatasetVersionSummary[]>()(
    'Versions of a dataset, newest first.',
    z.object({ id }).strict()
  ),

  'datasets.get': call<DatasetDetail>()(
    'One dataset with its sample counts per split, tags and edit counts.',
    z.object({ id }).strict()
  ),
  'datasets.update': call<DatasetSummary>()(
    'Rename a dataset or change its description.',
    z
      .object({
        id,
        name: z.string().trim().min(1).max(200).optional(),
        description: z.string().max(5000).optional()
      })
      .strict()
  ),
  'datasets.delete': call<{ deleted: boolean }>()(
    'Delete a dataset with its samples and versions (refused while a run uses one of its versions).',
    z.object({ id }).strict()
  ),
  'datasets.previewImport': call<ImportPreview>()(
    'Read the first rows of a file, detect its format and column mapping, and show them normalised.',
    z.object({ ...importSource, limit: z.number().int().min(1).max(200).default(20) }).strict()
  ),
  'datasets.import': call<ImportResult>()(
    'Import a JSONL, JSON, CSV, Parquet or plain text (.txt, cut into samples by textUnit) file into a ' +
      'dataset (created if needed). Runs as a job of kind ' +
      '"dataset.import" (job.progress events); the call answers when it ends. All rows or none.',
    z
      .object({
        ...importSource,
        datasetId: id.optional(),
        datasetName: z.string().trim().min(1).max(200).optional(),
        split: split.default('train'),
        tags: tagList.default([]),
        onBadRows: z.enum(['skip', 'abort']).default('abort'),
        cutVersion: z.boolean().default(false),
        note: z.string().max(5000).default('')
      })
      .strict()
      .refine((v) => (v.datasetId === undefined) !== (v.datasetName === undefined), {
        message: 'give exactly one of datasetId and datasetName'
      })
  ),
  'datasets.versionSamples': call<{ total: number; offset: number; rows: VersionSampleRow[] }>()(
    'A window of the samples frozen in a dataset version.',
    z.object({ versionId: id, split: split.optional(), ...page }).strict()
  ),
  'datasets.export': call<ExportResult>()(
    'Write a version, or a dataset\'s live samples matching a filter, to a JSONL file (job "dataset.export"); without a path, into the store as an export (exports.list) the served UI can download.',
    z
      .object({
        ...exportSource,
        format: z.enum(['messages', 'sharegpt', 'alpaca', 'text']).default('messages'),
        path: z.string().min(1).optional(),
        overwrite: z.boolean().default(false)
      })
      .strict()
      .refine((v) => (v.versionId === undefined) !== (v.datasetId === undefined), {
        message: 'give exactly one of versionId and datasetId'
      })
  )
} as const
