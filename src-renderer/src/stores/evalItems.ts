import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { EvalItemPage, EvaluationDetail } from '../../../src-preload/contract'
import { useApi } from '../api'
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
  const offset = ref(0)
  const page = ref<EvalItemPage | null>(null)
  const loading = ref(false)

  let request = 0
  async function loadPage(): Promise<void> {
    const id = evaluationId.value
    const mine = ++request
    if (id === null) return
    loading.value = true
    try {
      const answer = await api.call('evaluations.items', {
        id,
        only: only.value,
        limit: ITEMS_PAGE_SIZE,
        offset: offset.value
      })
      if (mine === request) page.value = answer
    } catch (error) {
      toasts.showError(error)
    } finally {
      if (mine === request) loading.value = false
    }
  }

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
    page.value = null
    only.value = 'all'
    offset.value = 0
    if (id !== null) await Promise.all([loadDetail(id), loadPage()])
  }

  async function setFilter(filter: ItemFilter): Promise<void> {
    only.value = filter
    offset.value = 0
    await loadPage()
  }

  async function goTo(nextOffset: number): Promise<void> {
    offset.value = Math.max(0, nextOffset)
    await loadPage()
  }

  return { evaluationId, detail, only, offset, page, loading, open, setFilter, goTo }
})
