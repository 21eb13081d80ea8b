import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { DatasetSummary } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useToastStore } from './toasts'

export const useDatasetsStore = defineStore('datasets', () => {
  const api = useApi()
  const toasts = useToastStore()
  const datasets = ref<DatasetSummary[]>([])
  const loaded = ref(false)

  async function load(): Promise<void> {
    try {
      datasets.value = await api.call('datasets.list', {})
      loaded.value = true
    } catch (error) {
      toasts.showError(error)
    }
  }

  return { datasets, loaded, load }
})
