import { defineStore } from 'pinia'
import { ref } from 'vue'
import type {
  DatasetStats,
  DuplicateGroup,
  DuplicateKind,
  DuplicateReport,
  ModelSummary,
  PreflightReport,
  TemplatePreview
} from '../../../src-preload/contract'
import { useApi } from '../api'
import { useDatasetsStore } from './datasets'
import { useSampleTableStore } from './sampleTable'
import { useToastStore } from './toasts'

/** A text cut into runs that are trained (inside a loss span) or not, for highlighting. */
export interface TemplateSegment {
  text: string
  trained: boolean
  /** The span's loss weight when trained. */
  weight: number
  messageIndex: number | null
}

/** Cuts the rendered template text at the trained spans' edges (spans may come in any order). */
export function segmentTemplateText(text: string, spans: TemplatePreview['spans']): TemplateSegment[] {
  const ordered = [...spans]
    .map((span) => ({ ...span, start: Math.max(0, span.start), end: Math.min(text.length, span.end) }))
    .filter((span) => span.end > span.start)
    .sort((a, b) => a.start - b.start)
  const segments: TemplateSegment[] = []
  let cursor = 0
  for (const span of ordered) {
    const start = Math.max(span.start, cursor)
    if (start >= span.end) continue
    if (start > cursor)
      segments.push({ text: text.slice(cursor, start), trained: false, weight: 0, messageIndex: null })
    segments.push({
      text: text.slice(start, span.end),
      trained: true,
      weight: span.weight,
      messageIndex: span.messageIndex
    })
    cursor = span.end
  }
  if (cursor < text.length)
    segments.push({ text: text.slice(cursor), trained: false, weight: 0, messageIndex: null })
  return segments
}

/** The base model last picked for the dataset tools, remembered across sessions ('' = the embedded one). */
const MODEL_STORAGE_KEY = 'finetuneStudio.datasetModel'

/** Duplicates, statistics, template preview and pre-flight check of the open dataset. */
export const useDatasetQualityStore = defineStore('datasetQuality', () => {
  const api = useApi()
  const toasts = useToastStore()
  const datasetsStore = useDatasetsStore()
  const table = useSampleTableStore()

  const reports = ref<Record<DuplicateKind, DuplicateReport | null>>({ exact: null, near: null })
  const threshold = ref(0.8)
  const findingNear = ref(false)
  /** Groups the user chose to keep as they are, by their sample ids. */
  const keptGroups = ref(new Set<string>())

  const stats = ref<DatasetStats | null>(null)
  const statsTokenizer = ref<string | null>(null)
  const countingTokens = ref(false)

  /** The base model whose tokenizer and template the tab uses; undefined: the embedded default model. */
  const previewModelId = ref<number | undefined>(undefined)
  /** Until the user picks a model, defaultModel() may choose one. */
  let modelPicked = false
  const previewSampleId = ref<number | null>(null)
  const previewSide = ref<'chosen' | 'rejected'>('chosen')
  const preview = ref<TemplatePreview | null>(null)
  const rendering = ref(false)

  /** '' checks against the model's context. */
  const maxLength = ref<number | string>('')
  const preflight = ref<PreflightReport | null>(null)
  const checking = ref(false)

  function reset(): void {
    reports.value = { exact: null, near: null }
    keptGroups.value = new Set()
    stats.value = null
    statsTokenizer.value = null
    preview.value = null
    previewSampleId.value = null
    preflight.value = null
  }

  /**
   * Before the user picks a model: the one they picked last time (in any session), else the first
   * registered one, whose context and template are what a run will see, not the embedded model's.
   */
  function defaultModel(models: readonly ModelSummary[]): void {
    if (modelPicked) return
    const remembered = globalThis.localStorage?.getItem(MODEL_STORAGE_KEY) ?? null
    if (remembered === '') previewModelId.value = undefined
    else previewModelId.value = (models.find((model) => String(model.id) === remembered) ?? models[0])?.id
  }

  function selectModel(id: number | undefined): void {
    modelPicked = true
    previewModelId.value = id
    globalThis.localStorage?.setItem(MODEL_STORAGE_KEY, id === undefined ? '' : String(id))
  }

  function groupKey(group: DuplicateGroup): string {
    return `${group.kind}:${group.sampleIds.join(',')}`
  }

  async function loadDuplicates(kind: DuplicateKind): Promise<void> {
    const id = datasetsStore.openId
    if (id === null) return
    try {
      const report = await api.call('datasets.duplicates', { id, kind })
      reports.value = { ...reports.value, [kind]: report }
      if (kind === 'near' && report.threshold !== null) threshold.value = report.threshold
    } catch (error) {
      toasts.showError(error)
    }
  }

  async function findNearDuplicates(): Promise<void> {
    const id = datasetsStore.openId
    if (id === null) return
    findingNear.value = true
    try {
      const report = await api.call('datasets.findNearDuplicates', { id, threshold: threshold.value })
      reports.value = { ...reports.value, near: report }
    } catch (error) {
      toasts.showError(error)
    } finally {
      findingNear.value = false
    }
  }

  /** Keeps one sample of a group and soft-deletes the others. */
  async function resolveGroup(group: DuplicateGroup, keepId: number): Promise<void> {
    const id = datasetsStore.openId
    const others = group.sampleIds.filter((sampleId) => sampleId !== keepId)
    if (id === null || others.length === 0) return
    try {
      await api.call('datasets.bulk', { id, sampleIds: others, action: { kind: 'delete' } })
      keepGroup(group)
      table.refresh()
      await Promise.all([datasetsStore.refreshOpen(), loadDuplicates('exact')])
    } catch (error) {
      toasts.showError(error)
    }
  }

  function keepGroup(group: DuplicateGroup): void {
    keptGroups.value = new Set(keptGroups.value).add(groupKey(group))
  }

  function isKept(group: DuplicateGroup): boolean {
    return keptGroups.value.has(groupKey(group))
  }

  async function loadStats(): Promise<void> {
    const id = datasetsStore.openId
    if (id === null) return
    try {
      stats.value = await api.call('datasets.stats', {
        id,
        ...(statsTokenizer.value ? { tokenizer: statsTokenizer.value } : {})
      })
    } catch (error) {
      toasts.showError(error)
    }
  }

  /** Counts tokens with a base model (undefined: the embedded one), then shows its histogram. */
  async function countTokens(baseModelId: number | undefined): Promise<void> {
    const id = datasetsStore.openId
    if (id === null) return
    countingTokens.value = true
    try {
      const counted = await api.call('datasets.countTokens', {
        id,
        ...(baseModelId !== undefined ? { baseModelId } : {})
      })
      statsTokenizer.value = counted.tokenizer
      table.setTokenizer(counted.tokenizer)
      await loadStats()
    } catch (error) {
      toasts.showError(error)
    } finally {
      countingTokens.value = false
    }
  }

  async function selectStatsTokenizer(key: string | null): Promise<void> {
    statsTokenizer.value = key
    await loadStats()
  }

  async function renderPreview(): Promise<void> {
    if (previewSampleId.value === null) return
    rendering.value = true
    try {
      preview.value = await api.call('datasets.templatePreview', {
        sampleId: previewSampleId.value,
        side: previewSide.value,
        ...(previewModelId.value !== undefined ? { baseModelId: previewModelId.value } : {})
      })
    } catch (error) {
      preview.value = null
      toasts.showError(error)
    } finally {
      rendering.value = false
    }
  }

  async function runPreflight(): Promise<void> {
    const id = datasetsStore.openId
    if (id === null) return
    checking.value = true
    try {
      preflight.value = await api.call('datasets.preflight', {
        id,
        ...(typeof maxLength.value === 'number' ? { maxLength: maxLength.value } : {}),
        ...(previewModelId.value !== undefined ? { baseModelId: previewModelId.value } : {})
      })
    } catch (error) {
      toasts.showError(error)
    } finally {
      checking.value = false
    }
  }

  return {
    reports,
    threshold,
    findingNear,
    stats,
    statsTokenizer,
    countingTokens,
    previewModelId,
    previewSampleId,
    previewSide,
    preview,
    rendering,
    maxLength,
    preflight,
    checking,
    reset,
    defaultModel,
    selectModel,
    loadDuplicates,
    findNearDuplicates,
    resolveGroup,
    keepGroup,
    isKept,
    loadStats,
    countTokens,
    selectStatsTokenizer,
    renderPreview,
    runPreflight
  }
})
