import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { EvalItemChange, EvaluationDiff } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useToastStore } from './toasts'

export const DIFF_PAGE_SIZE = 10

/** The flips, wrong → right and right → wrong: what one wants to see first. */
const FLIPPED: EvalItemChange[] = ['improved', 'regressed']

/** Two evaluations of one task, document by document; at first only the documents that flipped. */
export const useEvalDiffStore = defineStore('evalDiff', () => {
  const api = useApi()
  const toasts = useToastStore()
  const a = ref<number | null>(null)
  const b = ref<number | null>(null)
  const only = ref<EvalItemChange[]>([...FLIPPED])
  const offset = ref(0)
  const diff = ref<EvaluationDiff | null>(null)
  const loading = ref(false)

  let request = 0
  async function load(): Promise<void> {
    const mine = ++request
    if (a.value === null || b.value === null) {
      diff.value = null
      return
    }
    loading.value = true
    try {
      const answer = await api.call('evaluations.diff', {
        a: a.value,
        b: b.value,
        only: only.value,
        limit: DIFF_PAGE_SIZE,
        offset: offset.value
      })
      if (mine === request) diff.value = answer
    } catch (error) {
      if (mine === request) diff.value = null
      toasts.showError(error)
    } finally {
      if (mine === request) loading.value = false
    }
  }

  /** Compares b against a from the first page; the same pair again changes nothing. */
  async function choose(nextA: number | null, nextB: number | null): Promise<void> {
    if (a.value === nextA && b.value === nextB && (diff.value || loading.value)) return
    a.value = nextA
    b.value = nextB
    offset.value = 0
    await load()
  }

  /** Shows or hides one kind of change; the last one shown stays. */
  async function toggleChange(change: EvalItemChange): Promise<void> {
    const next = only.value.includes(change)
      ? only.value.filter((kind) => kind !== change)
      : [...only.value, change]
    if (next.length === 0) return
    only.value = next
    offset.value = 0
    await load()
  }

  async function goTo(nextOffset: number): Promise<void> {
    offset.value = Math.max(0, nextOffset)
    await load()
  }

  return { a, b, only, offset, diff, loading, choose, toggleChange, goTo, load }
})
