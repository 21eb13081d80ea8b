import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type {
  ImportColumnField,
  ImportFileType,
  ImportFormat,
  ImportMapping,
  ImportPreview,
  ImportResult,
  Split
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
    { field: 'reasoning', required: false }
  ],
  preference: [
    { field: 'chosen', required: true },
    { field: 'rejected', required: true },
    { field: 'prompt', required: false },
    { field: 'system', required: false }
  ]
}

export const IMPORT_FORMATS: { value: ImportFormat; label: string }[] = [
  { value: 'messages', label: 'OpenAI messages' },
  { value: 'sharegpt', label: 'ShareGPT conversations' },
  { value: 'alpaca', label: 'Alpaca instruction/input/output' },
  { value: 'prompt-completion', label: 'Prompt / completion' },
  { value: 'preference', label: 'Preference pairs (chosen/rejected)' }
]

/**
 * A mapping for another format, keeping the columns the user already chose where the new format
 * has the same field, and otherwise guessing a column of the same name.
 */
export function remapForFormat(format: ImportFormat, previous: ImportMapping | null, columns: string[]) {
  const mapping: ImportMapping = { format, columns: {} }
  for (const { field } of FORMAT_FIELDS[format]) {
    const kept = previous?.columns[field]
    if (kept && columns.includes(kept)) mapping.columns[field] = kept
    else if (columns.includes(field)) mapping.columns[field] = field
  }
  return mapping
}

/** A dataset name from a file path: `data/train.v2.jsonl` → `train.v2`. */
export function datasetNameFromPath(path: string): string {
  const file = path.split(/[/\\]/).pop() ?? ''
  return file.replace(/\.(jsonl|json|csv|parquet|ndjson)$/i, '') || 'imported'
}

/** Bad rows from an import that aborted on them (error details {badRows, badRowCount}). */
function badRowsOf(error: unknown): { badRows: BadRow[]; badRowCount: number } | null {
  if (!(error instanceof ApiError) || error.code !== 'invalid_input') return null
  const details = error.details as { badRows?: BadRow[]; badRowCount?: number } | undefined
  if (!details || !Array.isArray(details.badRows) || details.badRows.length === 0) return null
  return { badRows: details.badRows, badRowCount: details.badRowCount ?? details.badRows.length }
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
  const fileType = ref<'auto' | ImportFileType>('auto')
  /** The user's own mapping; null follows auto-detection. */
  const mapping = ref<ImportMapping | null>(null)
  const preview = ref<ImportPreview | null>(null)
  const previewing = ref(false)

  /** Into a new dataset of this name, or into an existing one. */
  const targetDatasetId = ref<number | null>(null)
  const datasetName = ref('')
  const split = ref<Split>('train')
  const tagsText = ref('')
  const onBadRows = ref<'abort' | 'skip'>('abort')
  const cutVersion = ref(false)

  const importing = ref(false)
  const result = ref<ImportResult | null>(null)
  /** The import stopped on these rows; nothing was imported. */
  const aborted = ref<{ badRows: BadRow[]; badRowCount: number } | null>(null)

  const effectiveMapping = computed(() => mapping.value ?? preview.value?.mapping ?? null)
  const missingFields = computed(() => {
    const current = effectiveMapping.value
    if (!current) return []
    return FORMAT_FIELDS[current.format]
      .filter(({ field, required }) => required && !current.columns[field])
      .map(({ field }) => field)
  })
  const canImport = computed(
    () =>
      path.value.trim() !== '' &&
      !importing.value &&
      (targetDatasetId.value !== null || datasetName.value.trim() !== '') &&
      (!preview.value || (effectiveMapping.value !== null && missingFields.value.length === 0))
  )

  function reset(forDatasetId: number | null = null): void {
    path.value = ''
    fileType.value = 'auto'
    mapping.value = null
    preview.value = null
    targetDatasetId.value = forDatasetId
    datasetName.value = ''
    tagsText.value = ''
    onBadRows.value = 'abort'
    cutVersion.value = false
    result.value = null
    aborted.value = null
  }

  function source() {
    return {
      path: path.value.trim(),
      fileType: fileType.value,
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
      if (targetDatasetId.value === null && datasetName.value.trim() === '')
        datasetName.value = datasetNameFromPath(path.value.trim())
    } catch (error) {
      preview.value = null
      toasts.showError(error)
    } finally {
      previewing.value = false
    }
  }

  /** A new path invalidates the preview and any mapping made for the old file. */
  function setPath(next: string): void {
    if (next === path.value) return
    path.value = next
    mapping.value = null
    preview.value = null
    result.value = null
    aborted.value = null
  }

  async function setMapping(next: ImportMapping | null): Promise<void> {
    mapping.value = next
    await runPreview()
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
    fileType,
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
    startImport
  }
})
