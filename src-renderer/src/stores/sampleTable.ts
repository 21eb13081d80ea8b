import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { BulkAction, SampleFilter, SampleRow, SampleSortColumn } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useDatasetsStore } from './datasets'
import { useToastStore } from './toasts'

/** Rows fetched per call; the table asks for the pages its visible window touches. */
export const SAMPLE_PAGE_SIZE = 100
/** Pages kept in memory; scrolling far away drops the ones farthest from the view. */
const MAX_CACHED_PAGES = 40

export interface SampleSort {
  column: SampleSortColumn
  direction: 'asc' | 'desc'
}

/** The filter as the server wants it: no empty strings, empty lists or unset bounds. */
export function compactFilter(filter: SampleFilter): SampleFilter {
  const compact: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(filter)) {
    if (value === undefined || value === null || value === '') continue
    if (Array.isArray(value) && value.length === 0) continue
    if (typeof value === 'number' && Number.isNaN(value)) continue
    compact[key] = value
  }
  return compact as SampleFilter
}

/** Page indexes to drop so that at most `keep` remain, farthest from the pages in view first. */
export function pagesToEvict(cached: number[], inView: [number, number], keep: number): number[] {
  if (cached.length <= keep) return []
  const [firstInView, lastInView] = inView
  const distance = (page: number) =>
    page < firstInView ? firstInView - page : page > lastInView ? page - lastInView : 0
  return [...cached].sort((a, b) => distance(b) - distance(a)).slice(0, cached.length - keep)
}

/**
 * The browsing state of the open dataset: filter, sort, the windows of rows fetched so far, and
 * the selection bulk actions apply to. Rows are fetched by offset as the table scrolls, so a
 * dataset of any size costs only the pages in view.
 */
export const useSampleTableStore = defineStore('sampleTable', () => {
  const api = useApi()
  const toasts = useToastStore()
  const datasetsStore = useDatasetsStore()

  const datasetId = ref<number | null>(null)
  const filter = ref<SampleFilter>({})
  const sort = ref<SampleSort>({ column: 'id', direction: 'asc' })
  /** Token counts of this tokenizer fill the Tokens column (see datasets.countTokens). */
  const tokenizer = ref<string | null>(null)
  const total = ref(0)
  /** False while `total` is a search's capped count and the exact one is on its way. */
  const totalExact = ref(true)
  /** Samples a search cannot find yet (a large import still being indexed). */
  const unindexed = ref(0)
  /** The first page of the current query has arrived. */
  const loaded = ref(false)
  /** Bumped whenever the query changes, so that the table scrolls back to the top. */
  const queryVersion = ref(0)
  const pages = shallowRef(new Map<number, SampleRow[]>())
  const selected = ref(new Set<number>())
  const busy = ref(false)

  // Replies to an older query (or dataset) are dropped: they describe rows no longer asked for.
  let generation = 0
  /** The generation whose batch of pages is on its way (-1: none). */
  let batchGeneration = -1
  const inFlight = new Set<number>()
  let pagesInView: [number, number] = [0, 0]

  const activeFilterCount = computed(() => Object.keys(compactFilter(filter.value)).length)

  function rowAt(index: number): SampleRow | undefined {
    return pages.value.get(Math.floor(index / SAMPLE_PAGE_SIZE))?.[index % SAMPLE_PAGE_SIZE]
  }

  /** Resolves to false when the call failed (the error is shown). */
  async function fetchPage(page: number): Promise<boolean> {
    const id = datasetId.value
    if (id === null || inFlight.has(page)) return true
    const asked = generation
    inFlight.add(page)
    try {
      const result = await api.call('datasets.samples', {
        id,
        filter: compactFilter(filter.value),
        sort: sort.value,
        ...(tokenizer.value ? { tokenizer: tokenizer.value } : {}),
        limit: SAMPLE_PAGE_SIZE,
        offset: page * SAMPLE_PAGE_SIZE
      })
      if (asked !== generation) return true
      // A later page may come back capped after the exact count arrived; the exact one stands.
      if (totalExact.value || !result.totalExact || result.total > total.value) {
        total.value = result.total
        totalExact.value = result.totalExact
      }
      unindexed.value = result.unindexed
      if (!result.totalExact) void fetchExactTotal(asked)
      loaded.value = true
      const next = new Map(pages.value)
      next.set(page, result.rows)
      for (const evicted of pagesToEvict([...next.keys()], pagesInView, MAX_CACHED_PAGES))
        next.delete(evicted)
      pages.value = next
      return true
    } catch (error) {
      if (asked !== generation) return true
      loaded.value = true
      toasts.showError(error)
      return false
    } finally {
      if (asked === generation) inFlight.delete(page)
    }
  }

  /** Counts every match of the current search (its first pages came with a capped count), once per query. */
  let exactTotalGeneration = -1
  async function fetchExactTotal(asked: number): Promise<void> {
    const id = datasetId.value
    if (id === null || exactTotalGeneration === asked) return
    exactTotalGeneration = asked
    try {
      const result = await api.call('datasets.samples', {
        id,
        filter: compactFilter(filter.value),
        limit: 0,
        exactTotal: true
      })
      if (asked !== generation) return
      total.value = result.total
      totalExact.value = true
    } catch (error) {
      if (asked === generation) toasts.showError(error)
    }
  }

  /**
   * Fetches the missing pages in view, one batch at a time: while a batch is out, scrolling only
   * moves the view, and the next batch asks for wherever the view is then. Dragging the scroll bar
   * across 100k rows thus costs a few calls, not one per page passed over.
   */
  async function fetchMissingInView(): Promise<void> {
    if (batchGeneration === generation) return
    const [firstPage, lastPage] = pagesInView
    const missing: number[] = []
    for (let page = firstPage; page <= lastPage; page++) if (!pages.value.has(page)) missing.push(page)
    if (missing.length === 0) return
    const asked = generation
    batchGeneration = asked
    let allFetched = false
    try {
      allFetched = (await Promise.all(missing.map(fetchPage))).every(Boolean)
    } finally {
      if (batchGeneration === asked) batchGeneration = -1
    }
    // After a failure the user scrolls or filters again; retrying at once would only repeat the error.
    if (allFetched && asked === generation) void fetchMissingInView()
  }

  /** Makes sure rows first..last (inclusive) are fetched or on their way. */
  function ensureRows(first: number, last: number): void {
    const firstPage = Math.floor(Math.max(0, first) / SAMPLE_PAGE_SIZE)
    const lastPage = Math.max(firstPage, Math.floor(Math.max(0, last) / SAMPLE_PAGE_SIZE))
    pagesInView = [firstPage, lastPage]
    void fetchMissingInView()
  }

  /** Starts a new query: everything fetched so far describes the old one. */
  function restart(): void {
    generation++
    inFlight.clear()
    pages.value = new Map()
    loaded.value = false
    queryVersion.value++
    pagesInView = [0, 0]
    void fetchMissingInView()
  }

  /** Fetches the pages in view again (after an edit), keeping them on screen until replaced. */
  function refresh(): void {
    generation++
    inFlight.clear()
    const [firstPage, lastPage] = pagesInView
    const kept = new Map([...pages.value].filter(([page]) => page >= firstPage && page <= lastPage))
    pages.value = kept
    for (let page = firstPage; page <= lastPage; page++) void fetchPage(page)
  }

  function openDataset(id: number | null): void {
    if (datasetId.value === id) return
    datasetId.value = id
    filter.value = {}
    sort.value = { column: 'id', direction: 'asc' }
    tokenizer.value = null
    selected.value = new Set()
    total.value = 0
    totalExact.value = true
    unindexed.value = 0
    if (id !== null) restart()
  }

  function setFilter(next: SampleFilter): void {
    filter.value = next
    restart()
  }

  function patchFilter(patch: Partial<SampleFilter>): void {
    setFilter({ ...filter.value, ...patch })
  }

  /** A click on a column header: ascending first, then descending. */
  function sortBy(column: SampleSortColumn): void {
    const same = sort.value.column === column
    sort.value = { column, direction: same && sort.value.direction === 'asc' ? 'desc' : 'asc' }
    restart()
  }

  function setTokenizer(key: string | null): void {
    tokenizer.value = key
    restart()
  }

  function toggleSelected(id: number): void {
    const next = new Set(selected.value)
    if (next.has(id)) next.delete(id)
    else next.add(id)
    selected.value = next
  }

  /** Shift-click: every fetched row between two indexes takes the state of the clicked one. */
  function selectRange(fromIndex: number, toIndex: number, select: boolean): void {
    const next = new Set(selected.value)
    for (let index = Math.min(fromIndex, toIndex); index <= Math.max(fromIndex, toIndex); index++) {
      const row = rowAt(index)
      if (!row) continue
      if (select) next.add(row.id)
      else next.delete(row.id)
    }
    selected.value = next
  }

  function clearSelection(): void {
    selected.value = new Set()
  }

  async function selectAllMatching(): Promise<void> {
    const id = datasetId.value
    if (id === null) return
    try {
      selected.value = new Set(
        await api.call('datasets.sampleIds', { id, filter: compactFilter(filter.value) })
      )
    } catch (error) {
      toasts.showError(error)
    }
  }

  /** Applies one action to the selection; resolves to how many samples changed, or null. */
  async function bulk(action: BulkAction): Promise<number | null> {
    const id = datasetId.value
    if (id === null || selected.value.size === 0) return null
    busy.value = true
    try {
      const { changed } = await api.call('datasets.bulk', { id, sampleIds: [...selected.value], action })
      if (action.kind === 'delete' || action.kind === 'restore') clearSelection()
      refresh()
      await datasetsStore.refreshOpen()
      return changed
    } catch (error) {
      toasts.showError(error)
      return null
    } finally {
      busy.value = false
    }
  }

  return {
    datasetId,
    filter,
    sort,
    tokenizer,
    total,
    totalExact,
    unindexed,
    loaded,
    queryVersion,
    pages,
    selected,
    busy,
    activeFilterCount,
    rowAt,
    ensureRows,
    refresh,
    openDataset,
    setFilter,
    patchFilter,
    sortBy,
    setTokenizer,
    toggleSelected,
    selectRange,
    clearSelection,
    selectAllMatching,
    bulk
  }
})
