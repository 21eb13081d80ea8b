import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import type {
  ImportColumnField,
  ImportFieldSource,
  ImportFileType,
  ImportFormat,
  ImportMapping,
  ImportPreview,
  ImportResult,
  Split,
  TextSampleUnit
} from '../../../src-preload/contract'
import { ApiError, useApi } from '../api'
import { useDatasetsStore } from './datasets'
import { useToastStore } from './toasts'

export interface BadRow {
  file: string
  line: number
  reason: string
}

/** Which columns each format reads, required ones first (mirrors ImportMapping in the contract). */
export const FORMAT_FIELDS: Record<ImportFormat, { field: ImportColumnField; required: boolean }[]> = {
  messages: [
    { field: 'messages', required: true },
    { field: 'tools', required: false },
    { field: 'system', required: false }
  ],
  sharegpt: [
    { field: 'conversations', required: true },
    { field: 'tools', required: false },
    { field: 'system', required: false }
  ],
  alpaca: [
    { field: 'instruction', required: true },
    { field: 'output', required: true },
    { field: 'input', required: false },
    { field: 'history', required: false },
    { field: 'system', required: false },
    { field: 'reasoning', required: false }
  ],
  'prompt-completion': [
    { field: 'prompt', required: true },
    { field: 'completion', required: true },
    { field: 'system', required: false },
    { field: 'reasoning', required: false },
    { field: 'label', required: false }
  ],
  preference: [
    { field: 'chosen', required: true },
    { field: 'rejected', required: true },
    { field: 'prompt', required: false },
    { field: 'system', required: false }
  ],
  text: [{ field: 'text', required: true }]
}

export const IMPORT_FORMATS: { value: ImportFormat; label: string }[] = [
  { value: 'messages', label: 'OpenAI messages' },
  { value: 'sharegpt', label: 'ShareGPT conversations' },
  { value: 'alpaca', label: 'Alpaca instruction/input/output' },
  { value: 'prompt-completion', label: 'Prompt / completion' },
  { value: 'preference', label: 'Preference pairs (chosen/rejected)' },
  { value: 'text', label: 'Raw text (continued pre-training)' }
]

/** Whether the mapping gives a field a source: a column, a path or a template. */
export function fieldMapped(mapping: ImportMapping, field: ImportColumnField): boolean {
  return mapping.templates?.[field] !== undefined || mapping.columns[field] !== undefined
}

/** The mapping with one field read from `source` (a column or path, or a template), or from nothing. */
export function withFieldSource(
  mapping: ImportMapping,
  field: ImportColumnField,
  source: ImportFieldSource | null
): ImportMapping {
  const columns = { ...mapping.columns }
  const templates = { ...mapping.templates }
  delete columns[field]
  delete templates[field]
  if (source?.template !== undefined) templates[field] = source.template
  else if (source?.column !== undefined) columns[field] = source.column
  return Object.keys(templates).length > 0
    ? { format: mapping.format, columns, templates }
    : { format: mapping.format, columns }
}

/** Whether a field is read from exactly this source now. */
export function usesSource(
  mapping: ImportMapping | null,
  field: ImportColumnField,
  source: ImportFieldSource
): boolean {
  if (!mapping) return false
  const template = mapping.templates?.[field]
  if (source.template !== undefined) return template === source.template
  return template === undefined && mapping.columns[field] === source.column
}

const MAX_PATH_DEPTH = 4

/**
 * Paths into the nested objects of the rows ("question.stem"), in first-seen order, for fields
 * that read part of a column. Lists are not entered: a path through one picks one element.
 */
export function nestedPaths(rows: readonly Record<string, unknown>[]): string[] {
  const paths = new Set<string>()
  const visit = (value: unknown, prefix: string, depth: number) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || depth > MAX_PATH_DEPTH) return
    for (const [key, inner] of Object.entries(value)) {
      const path = `${prefix}.${key}`
      paths.add(path)
      visit(inner, path, depth + 1)
    }
  }
  for (const row of rows) for (const [column, value] of Object.entries(row)) visit(value, column, 1)
  return [...paths]
}

/**
 * A mapping for another format, keeping the columns the user already chose where the new format
 * has the same field, and otherwise guessing a column of the same name.
 */
export function remapForFormat(format: ImportFormat, previous: ImportMapping | null, columns: string[]) {
  let mapping: ImportMapping = { format, columns: {} }
  for (const { field } of FORMAT_FIELDS[format]) {
    const template = previous?.templates?.[field]
    const kept = previous?.columns[field]
    if (template !== undefined) mapping = withFieldSource(mapping, field, { template })
    else if (kept && columns.includes(kept.split('.')[0])) mapping.columns[field] = kept
    else if (columns.includes(field)) mapping.columns[field] = field
  }
  return mapping
}

const DATA_FILE_EXTENSION = /\.(jsonl|json|csv|parquet|ndjson|txt)$/i
/** `train-00000-of-00003`: one shard of a split, as the Hugging Face hub stores them. */
const SHARD_SUFFIX = /-\d{5}-of-\d{5}$/
/** Names that say which part of a dataset a file or folder holds, not which dataset it is. */
const GENERIC_NAMES = new Set([
  'train',
  'test',
  'validation',
  'valid',
  'val',
  'dev',
  'eval',
  'data',
  'dataset'
])

/**
 * A dataset name from a file path: `data/chats.v2.jsonl` → `chats.v2`; a file named for its split
 * or just "data" is named after the nearest folder that is not: `gsm8k/train.jsonl` → `gsm8k`.
 */
export function datasetNameFromPath(path: string): string {
  const parts = path.split(/[/\\]/).filter((part) => part !== '')
  const stem = (parts.pop() ?? '').replace(DATA_FILE_EXTENSION, '')
  const isGeneric = (name: string) => GENERIC_NAMES.has(name.replace(SHARD_SUFFIX, '').toLowerCase())
  if (!isGeneric(stem)) return stem || 'imported'
  while (parts.length > 0) {
    const folder = parts.pop()!
    if (!isGeneric(folder) && !/^[A-Za-z]:$/.test(folder)) return folder
  }
  return stem
}

/**
 * The name to suggest for a file stored at `location`. A file the user picked keeps its own path in
 * the desktop app; uploaded to a server, it is stored under another name, and only the name it was
 * picked by means something to the user.
 */
export function suggestedDatasetName(location: string, pickedName: string | null): string {
  const keptItsName = pickedName === null || location.split(/[/\\]/).pop() === pickedName
  return datasetNameFromPath(keptItsName ? location : pickedName)
}

/** An import that stopped on bad rows; goodRowCount 0: every row is bad, skipping them leaves nothing. */
interface AbortedImport {
  badRows: BadRow[]
  badRowCount: number
  goodRowCount?: number
}

/** Bad rows from an import that aborted on them (error details {badRows, badRowCount, goodRowCount}). */
function badRowsOf(error: unknown): AbortedImport | null {
  if (!(error instanceof ApiError) || error.code !== 'invalid_input') return null
  const details = error.details as Partial<AbortedImport> | undefined
  if (!details || !Array.isArray(details.badRows) || details.badRows.length === 0) return null
  return {
    badRows: details.badRows,
    badRowCount: details.badRowCount ?? details.badRows.length,
    goodRowCount: details.goodRowCount
  }
}

/**
 * The import form: a server-side path, a preview with the detected mapping (which the user may
 * correct), where the rows go, and what happens to rows that cannot be read.
 */
export const useDatasetImportStore = defineStore('datasetImport', () => {
  const api = useApi()
  const toasts = useToastStore()
  const datasetsStore = useDatasetsStore()

  const path = ref('')
  /** The name of the file the user picked or dropped, when the app stores it under another. */
  const pickedName = ref<string | null>(null)
  const fileType = ref<'auto' | ImportFileType>('auto')
  /** How a .txt file is cut into samples. */
  const textUnit = ref<TextSampleUnit>('paragraph')
  /** The user's own mapping; null follows auto-detection. */
  const mapping = ref<ImportMapping | null>(null)
  const preview = ref<ImportPreview | null>(null)
  const previewing = ref(false)

  /**
   * Rows go into the dataset open in the workspace, or into a new one from the dataset list: the
   * target is where the user is, never a dataset they have left.
   */
  const targetDatasetId = computed(() => datasetsStore.openId)
  const datasetName = ref('')
  /** The name last suggested for the file, to tell it from one the user typed. */
  let suggestedName = ''
  const split = ref<Split>('train')
  const tagsText = ref('')
  const onBadRows = ref<'abort' | 'skip'>('abort')
  const cutVersion = ref(false)

  const importing = ref(false)
  const result = ref<ImportResult | null>(null)
  /** The import stopped on these rows; nothing was imported. */
  const aborted = ref<AbortedImport | null>(null)

  const effectiveMapping = computed(() => mapping.value ?? preview.value?.mapping ?? null)
  const missingFields = computed(() => {
    const current = effectiveMapping.value
    if (!current) return []
    return FORMAT_FIELDS[current.format]
      .filter(({ field, required }) => required && !fieldMapped(current, field))
      .map(({ field }) => field)
  })
  const canImport = computed(
    () =>
      path.value.trim() !== '' &&
      !importing.value &&
      (targetDatasetId.value !== null || datasetName.value.trim() !== '') &&
      (!preview.value || (effectiveMapping.value !== null && missingFields.value.length === 0))
  )

  /** A fresh form: nothing of an earlier import (its split, tags or name) carries over. */
  function reset(): void {
    path.value = ''
    pickedName.value = null
    fileType.value = 'auto'
    textUnit.value = 'paragraph'
    mapping.value = null
    preview.value = null
    datasetName.value = ''
    suggestedName = ''
    split.value = 'train'
    tagsText.value = ''
    onBadRows.value = 'abort'
    cutVersion.value = false
    result.value = null
    aborted.value = null
  }

  // Leaving the dataset (or opening another) starts over; opening the dataset an import just
  // created keeps that import's outcome in view.
  watch(
    () => datasetsStore.openId,
    (openId) => {
      if (result.value === null || result.value.dataset.id !== openId) reset()
    },
    { flush: 'sync' }
  )

  function source() {
    return {
      path: path.value.trim(),
      fileType: fileType.value,
      textUnit: textUnit.value,
      ...(mapping.value ? { mapping: mapping.value } : {})
    }
  }

  async function runPreview(): Promise<void> {
    if (path.value.trim() === '') return
    previewing.value = true
    result.value = null
    aborted.value = null
    try {
      preview.value = await api.call('datasets.previewImport', { ...source(), limit: 20 })
      // A name the user typed stays; one suggested for an earlier file follows the new one.
      const untouched = datasetName.value.trim() === '' || datasetName.value === suggestedName
      suggestedName = suggestedDatasetName(path.value.trim(), pickedName.value)
      if (targetDatasetId.value === null && untouched) datasetName.value = suggestedName
    } catch (error) {
      preview.value = null
      toasts.showError(error)
    } finally {
      previewing.value = false
    }
  }

  /**
   * A new path invalidates the preview and any mapping made for the old file; after a finished
   * import it starts the next one afresh. `picked` is the name of the file the user picked or
   * dropped, which the app may have stored at `next` under another.
   */
  function setPath(next: string, picked: string | null = null): void {
    if (result.value !== null) reset()
    pickedName.value = picked
    if (next === path.value) return
    path.value = next
    mapping.value = null
    preview.value = null
    aborted.value = null
  }

  async function setMapping(next: ImportMapping | null): Promise<void> {
    mapping.value = next
    await runPreview()
  }

  /** Another way to cut a .txt file makes other samples: preview them. */
  async function setTextUnit(next: TextSampleUnit): Promise<void> {
    textUnit.value = next
    if (preview.value) await runPreview()
  }

  async function startImport(badRowPolicy: 'abort' | 'skip' = onBadRows.value): Promise<ImportResult | null> {
    if (!canImport.value) return null
    importing.value = true
    result.value = null
    aborted.value = null
    const tags = tagsText.value
      .split(',')
      .map((tag) => tag.trim())
      .filter((tag) => tag !== '')
    try {
      const target =
        targetDatasetId.value !== null
          ? { datasetId: targetDatasetId.value }
          : { datasetName: datasetName.value.trim() }
      const imported = await api.call('datasets.import', {
        ...source(),
        ...(effectiveMapping.value ? { mapping: effectiveMapping.value } : {}),
        ...target,
        split: split.value,
        tags,
        onBadRows: badRowPolicy,
        cutVersion: cutVersion.value
      })
      result.value = imported
      await datasetsStore.load()
      return imported
    } catch (error) {
      const bad = badRowsOf(error)
      if (bad) aborted.value = bad
      else toasts.showError(error)
      return null
    } finally {
      importing.value = false
    }
  }

  return {
    path,
    pickedName,
    fileType,
    textUnit,
    mapping,
    preview,
    previewing,
    targetDatasetId,
    datasetName,
    split,
    tagsText,
    onBadRows,
    cutVersion,
    importing,
    result,
    aborted,
    effectiveMapping,
    missingFields,
    canImport,
    reset,
    runPreview,
    setPath,
    setMapping,
    setTextUnit,
    startImport
  }
})
