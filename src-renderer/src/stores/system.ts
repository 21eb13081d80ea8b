import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { SystemInfo } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useToastStore } from './toasts'

export const useSystemStore = defineStore('system', () => {
  const api = useApi()
  const toasts = useToastStore()
  const info = ref<SystemInfo | null>(null)
  const connection = computed(() => api.connection.value)

  async function load(): Promise<void> {
    try {
      info.value = await api.call('system.info', {})
    } catch (error) {
      toasts.showError(error)
    }
  }

  return { info, connection, transport: api.transport, load }
})
