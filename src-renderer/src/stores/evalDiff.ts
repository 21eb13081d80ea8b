import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { EvalItemChange } from '../../../src-preload/contract'
import { useApi } from '../api'
import { usePagedList } from '../composables/usePagedList'

export const DIFF_PAGE_SIZE = 10

/** The flips, wrong → right and right → wrong: what one wants to see first. */
const FLIPPED: EvalItemChange[] = ['improved', 'regressed']

/** Two evaluations of one task, document by document; at first only the documents that flipped. */
export const useEvalDiffStore = defineStore('evalDiff', () => {
  const api = useApi()
  const a = ref<number | null>(null)
  const b = ref<number | null>(null)
  const only = ref<EvalItemChange[]>([...FLIPPED])
  const list = usePagedList(async (offset) => {
    if (a.value === null || b.value === null) return null
    return api.call('evaluations.diff', {
      a: a.value,
      b: b.value,
      only: only.value,
      limit: DIFF_PAGE_SIZE,
      offset
    })
  }, 'clear')

  /** Compares b against a from the first page; the same pair again changes nothing. */
  async function choose(nextA: number | null, nextB: number | null): Promise<void> {
    if (a.value === nextA && b.value === nextB && (list.page.value || list.loading.value)) return
    a.value = nextA
    b.value = nextB
    await list.reload()
  }

  /** Shows or hides one kind of change; the last one shown stays. */
  async function toggleChange(change: EvalItemChange): Promise<void> {
    const next = only.value.includes(change)
      ? only.value.filter((kind) => kind !== change)
      : [...only.value, change]
    if (next.length === 0) return
    only.value = next
    await list.reload()
  }

  const { page: diff, offset, loading, goTo, load } = list
  return { a, b, only, offset, diff, loading, choose, toggleChange, goTo, load }
})
