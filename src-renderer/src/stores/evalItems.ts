import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { EvaluationDetail } from '../../../src-preload/contract'
import { useApi } from '../api'
import { usePagedList } from '../composables/usePagedList'
import { useToastStore } from './toasts'

export const ITEMS_PAGE_SIZE = 10

export type ItemFilter = 'all' | 'correct' | 'wrong'

/** The documents of one evaluation, a page at a time: all of them, or only the right or wrong ones. */
export const useEvalItemsStore = defineStore('evalItems', () => {
  const api = useApi()
  const toasts = useToastStore()
  const evaluationId = ref<number | null>(null)
  const detail = ref<EvaluationDetail | null>(null)
  const only = ref<ItemFilter>('all')
  const list = usePagedList(async (offset) => {
    const id = evaluationId.value
    if (id === null) return null
    return api.call('evaluations.items', { id, only: only.value, limit: ITEMS_PAGE_SIZE, offset })
  }, 'keep')

  async function loadDetail(id: number): Promise<void> {
    try {
      const answer = await api.call('evaluations.get', { id })
      if (evaluationId.value === id) detail.value = answer
    } catch (error) {
      toasts.showError(error)
    }
  }

  /** Opens an evaluation at its first page of all items; null closes. Opening the open one keeps its page. */
  async function open(id: number | null): Promise<void> {
    if (evaluationId.value === id) return
    evaluationId.value = id
    detail.value = null
    list.page.value = null
    only.value = 'all'
    list.offset.value = 0
    if (id !== null) await Promise.all([loadDetail(id), list.load()])
  }

  async function setFilter(filter: ItemFilter): Promise<void> {
    only.value = filter
    await list.reload()
  }

  const { page, offset, loading, goTo } = list
  return { evaluationId, detail, only, page, offset, loading, open, setFilter, goTo }
})
