import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { EvaluationStatus, EvaluationSummary } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useToastStore } from './toasts'

/** The newest evaluations the room lists; older ones stay in the store and the matrix. */
export const EVALUATIONS_LISTED = 200

export function isEvaluationFinished(status: EvaluationStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'interrupted'
}

/** Evaluations, newest first, kept current by evaluation.status events. */
export const useEvaluationsStore = defineStore('evaluations', () => {
  const api = useApi()
  const toasts = useToastStore()
  const evaluations = ref<EvaluationSummary[]>([])
  const loaded = ref(false)

  const byId = computed(() => new Map(evaluations.value.map((evaluation) => [evaluation.id, evaluation])))
  const completed = computed(() =>
    evaluations.value.filter((evaluation) => evaluation.status === 'completed')
  )

  async function load(): Promise<void> {
    try {
      evaluations.value = await api.call('evaluations.list', { limit: EVALUATIONS_LISTED })
      loaded.value = true
    } catch (error) {
      toasts.showError(error)
    }
  }

  /** Puts each evaluation in the list in place of its older copy, new ones first. */
  function upsert(fresh: readonly EvaluationSummary[]): void {
    const next = [...evaluations.value]
    for (const evaluation of fresh) {
      const index = next.findIndex((known) => known.id === evaluation.id)
      if (index >= 0) next.splice(index, 1, evaluation)
      else next.unshift(evaluation)
    }
    evaluations.value = next.sort((a, b) => b.id - a.id)
  }

  async function refresh(id: number): Promise<void> {
    try {
      upsert([await api.call('evaluations.get', { id })])
    } catch (error) {
      toasts.showError(error)
    }
  }

  api.on('evaluation.status', ({ evaluationId, status, error }) => {
    const known = byId.value.get(evaluationId)
    if (known) upsert([{ ...known, status, error }])
    // Scores and item counts arrive with the end; an evaluation started elsewhere arrives whole.
    if (!known || isEvaluationFinished(status)) void refresh(evaluationId)
  })

  return { evaluations, loaded, byId, completed, load, upsert, refresh }
})
