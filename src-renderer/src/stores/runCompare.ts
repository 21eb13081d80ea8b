import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { RunComparison } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useToastStore } from './toasts'

/** Metrics fetched for a comparison; the chart shows one at a time without asking again. */
export const COMPARED_METRICS = ['loss', 'eval_loss', 'lr', 'grad_norm', 'tokens_per_s'] as const
export const MAX_COMPARED_RUNS = 12

/**
 * The metric a comparison shows first: validation loss when every run measured it (the same plain
 * loss on held-out samples, whatever the recipe), training loss otherwise.
 */
export function defaultCompareMetric(comparison: RunComparison | null): string {
  if (!comparison) return 'loss'
  const measured = (runId: number) =>
    comparison.series.some(
      (series) => series.runId === runId && series.name === 'eval_loss' && series.points.length > 0
    )
  return comparison.runs.every((run) => measured(run.id)) ? 'eval_loss' : 'loss'
}

/**
 * Each recipe defines its own training loss (DFT weights every token by its probability, ASFT adds
 * a KL term), and so do a recipe's parameters: where these differ, training losses are not on one
 * scale. Returns the recipes compared when they differ in either, else null.
 */
export function differingLossDefinitions(comparison: RunComparison): string[] | null {
  const differs = comparison.configDiff.some(
    (row) => row.key === 'recipe.name' || row.key.startsWith('recipe.params.')
  )
  return differs ? [...new Set(comparison.runs.map((run) => run.recipe))] : null
}

/** Runs chosen on the Compare view, their overlaid series and the settings that differ. */
export const useRunCompareStore = defineStore('runCompare', () => {
  const api = useApi()
  const toasts = useToastStore()
  const selectedIds = ref<number[]>([])
  const comparison = ref<RunComparison | null>(null)
  const loading = ref(false)

  const canCompare = computed(() => selectedIds.value.length >= 2)

  /** The metric the user chose; until then the default for what is compared. */
  const chosenMetric = ref<string | null>(null)
  const metric = computed({
    get: () => chosenMetric.value ?? defaultCompareMetric(comparison.value),
    set: (name: string) => {
      chosenMetric.value = name
    }
  })
  /** The recipes compared, when their training losses are not comparable; null when they are. */
  const lossDefinitions = computed(() =>
    comparison.value ? differingLossDefinitions(comparison.value) : null
  )

  /** Bumped on every request, so that an answer for an earlier selection is dropped. */
  let request = 0

  async function refresh(): Promise<void> {
    const asked = ++request
    if (!canCompare.value) {
      comparison.value = null
      return
    }
    loading.value = true
    try {
      const result = await api.call('runs.compare', {
        ids: [...selectedIds.value],
        metrics: [...COMPARED_METRICS]
      })
      if (asked === request) comparison.value = result
    } catch (error) {
      if (asked === request) toasts.showError(error)
    } finally {
      if (asked === request) loading.value = false
    }
  }

  function toggle(runId: number): void {
    const selected = selectedIds.value.includes(runId)
    if (!selected && selectedIds.value.length >= MAX_COMPARED_RUNS) return
    selectedIds.value = selected
      ? selectedIds.value.filter((id) => id !== runId)
      : [...selectedIds.value, runId]
    void refresh()
  }

  /** Drops runs that no longer exist (deleted elsewhere). */
  function keepOnly(existing: ReadonlySet<number>): void {
    const kept = selectedIds.value.filter((id) => existing.has(id))
    if (kept.length === selectedIds.value.length) return
    selectedIds.value = kept
    void refresh()
  }

  return {
    selectedIds,
    comparison,
    loading,
    canCompare,
    metric,
    lossDefinitions,
    refresh,
    toggle,
    keepOnly
  }
})
