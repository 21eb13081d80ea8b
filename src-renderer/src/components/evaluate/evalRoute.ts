import { computed } from 'vue'
import { useRoute, useRouter, type LocationQueryRaw } from 'vue-router'

export const EVAL_TABS = [
  { id: 'evaluate', label: 'Evaluate' },
  { id: 'matrix', label: 'Matrix' },
  { id: 'diff', label: 'Item diff' },
  { id: 'arena', label: 'Arena' }
] as const

export type EvalTab = (typeof EVAL_TABS)[number]['id']

function positiveId(value: unknown): number | null {
  const id = Number(value)
  return Number.isInteger(id) && id > 0 ? id : null
}

/**
 * Where the evaluation room is lives in the address (`#/evaluate?tab=matrix&evaluation=12`), so
 * that a reload or a link keeps the tab, the evaluation whose items are open and the pair diffed.
 */
export function useEvalRoute() {
  const route = useRoute()
  const router = useRouter()

  const tab = computed<EvalTab>(
    () => EVAL_TABS.find((known) => known.id === route.query.tab)?.id ?? 'evaluate'
  )
  /** The evaluation whose items are open. */
  const evaluationId = computed(() => positiveId(route.query.evaluation))
  const diffPair = computed(() => ({ a: positiveId(route.query.a), b: positiveId(route.query.b) }))

  function go(next: EvalTab, query: LocationQueryRaw = {}) {
    return router.push({ query: { tab: next, ...query } })
  }

  function openItems(id: number | null) {
    return router.push({ query: { ...route.query, evaluation: id === null ? undefined : String(id) } })
  }

  function openDiff(a: number | null, b: number | null) {
    return go('diff', { a: a === null ? undefined : String(a), b: b === null ? undefined : String(b) })
  }

  return { tab, evaluationId, diffPair, go, openItems, openDiff }
}
