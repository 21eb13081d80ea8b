import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type {
  CallInput,
  DatasetDetail,
  DatasetSummary,
  DatasetVersionSummary,
  ExportResult,
  SplitResult
} from '../../../src-preload/contract'
import { useApi } from '../api'
import { useToastStore } from './toasts'

/** The dataset list, and the one dataset open in the curation workspace with its versions. */
export const useDatasetsStore = defineStore('datasets', () => {
  const api = useApi()
  const toasts = useToastStore()
  const datasets = ref<DatasetSummary[]>([])
  const loaded = ref(false)
  const openId = ref<number | null>(null)
  const detail = ref<DatasetDetail | null>(null)
  const versions = ref<DatasetVersionSummary[]>([])
  /** The newest version of every dataset that has one: what a run's stage can train on or mix in. */
  const latestVersions = computed(() =>
    datasets.value
      .filter((dataset) => dataset.latestVersion !== null)
      .map((dataset) => ({
        id: dataset.latestVersion!.id,
        label: `${dataset.name} v${dataset.latestVersion!.version}`
      }))
  )

  const open = computed(() => datasets.value.find((dataset) => dataset.id === openId.value) ?? null)

  async function load(): Promise<void> {
    try {
      datasets.value = await api.call('datasets.list', {})
      loaded.value = true
    } catch (error) {
      toasts.showError(error)
    }
  }

  /** Counts, tags and versions of the open dataset; called after anything that may change them. */
  async function refreshOpen(): Promise<void> {
    const id = openId.value
    if (id === null) return
    try {
      const [nextDetail, nextVersions] = await Promise.all([
        api.call('datasets.get', { id }),
        api.call('datasets.versions', { id })
      ])
      // The user may have opened another dataset while these were on their way.
      if (openId.value !== id) return
      detail.value = nextDetail
      versions.value = nextVersions
    } catch (error) {
      toasts.showError(error)
    }
    void load()
  }

  async function openDataset(id: number | null): Promise<void> {
    if (openId.value === id) return
    openId.value = id
    detail.value = null
    versions.value = []
    await refreshOpen()
  }

  async function create(name: string, description = ''): Promise<DatasetSummary | null> {
    try {
      const dataset = await api.call('datasets.create', { name, description })
      await load()
      return dataset
    } catch (error) {
      toasts.showError(error)
      return null
    }
  }

  async function remove(id: number): Promise<boolean> {
    try {
      await api.call('datasets.delete', { id })
      if (openId.value === id) await openDataset(null)
      await load()
      return true
    } catch (error) {
      toasts.showError(error)
      return false
    }
  }

  async function cutVersion(note: string): Promise<DatasetVersionSummary | null> {
    if (openId.value === null) return null
    try {
      const version = await api.call('datasets.cutVersion', { id: openId.value, note })
      await refreshOpen()
      return version
    } catch (error) {
      toasts.showError(error)
      return null
    }
  }

  async function assignSplits(
    input: Omit<CallInput<'datasets.assignSplits'>, 'id'>
  ): Promise<SplitResult | null> {
    if (openId.value === null) return null
    try {
      const result = await api.call('datasets.assignSplits', { ...input, id: openId.value })
      await refreshOpen()
      return result
    } catch (error) {
      toasts.showError(error)
      return null
    }
  }

  async function exportSamples(input: CallInput<'datasets.export'>): Promise<ExportResult | null> {
    try {
      return await api.call('datasets.export', input)
    } catch (error) {
      toasts.showError(error)
      return null
    }
  }

  return {
    datasets,
    latestVersions,
    loaded,
    openId,
    open,
    detail,
    versions,
    load,
    refreshOpen,
    openDataset,
    create,
    remove,
    cutVersion,
    assignSplits,
    exportSamples
  }
})
