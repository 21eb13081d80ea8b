import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ComparisonSummary, EvaluationSummary } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useToastStore } from './toasts'

export type Vote = NonNullable<ComparisonSummary['vote']>

/** Benchmark evaluations and the pairwise comparisons drawn from them. */
export const useComparisonsStore = defineStore('comparisons', () => {
  const api = useApi()
  const toasts = useToastStore()
  const comparisons = ref<ComparisonSummary[]>([])
  const evaluations = ref<EvaluationSummary[]>([])
  const loaded = ref(false)

  async function load(): Promise<void> {
    try {
      const [comparisonRows, evaluationRows] = await Promise.all([
        api.call('comparisons.list', {}),
        api.call('evaluations.list', {})
      ])
      comparisons.value = comparisonRows
      evaluations.value = evaluationRows
      loaded.value = true
    } catch (error) {
      toasts.showError(error)
    }
  }

  async function vote(id: number, choice: Vote): Promise<void> {
    try {
      const updated = await api.call('comparisons.vote', { id, vote: choice })
      comparisons.value = comparisons.value.map((row) => (row.id === id ? updated : row))
    } catch (error) {
      toasts.showError(error)
    }
  }

  return { comparisons, evaluations, loaded, load, vote }
})
