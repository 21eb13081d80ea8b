import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { SystemResources } from '../../../src-preload/contract'
import { useApi } from '../api'

/** CPU, memory and GPU use, refreshed by whoever polls (the Runs view, every few seconds). */
export const useSystemResourcesStore = defineStore('systemResources', () => {
  const api = useApi()
  const resources = ref<SystemResources | null>(null)
  /** Shown in the panel instead of a toast every few seconds. */
  const error = ref<string | null>(null)

  async function refresh(): Promise<void> {
    try {
      resources.value = await api.call('system.resources', {})
      error.value = null
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
    }
  }

  return { resources, error, refresh }
})
