import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { EvalMatrix } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useToastStore } from './toasts'

/**
 * The Matrix tab: every target × task with its headline metric, and one run's checkpoints over
 * steps. Reloaded when an evaluation completes, so a cell appears as soon as it is measured.
 */
export const useEvalMatrixStore = defineStore('evalMatrix', () => {
  const api = useApi()
  const toasts = useToastStore()
  const matrix = ref<EvalMatrix | null>(null)
  /** The run whose checkpoints are drawn over steps. */
  const runId = ref<number | null>(null)
  const runMatrix = ref<EvalMatrix | null>(null)

  /** Runs with evaluated checkpoints, newest first. */
  const runIds = computed(() => {
    const ids = new Set<number>()
    for (const row of matrix.value?.rows ?? [])
      if (row.runId !== null && row.checkpointId !== null) ids.add(row.runId)
    return [...ids].sort((x, y) => y - x)
  })

  const cells = computed(
    () => new Map((matrix.value?.cells ?? []).map((cell) => [`${cell.row}\0${cell.task}`, cell]))
  )

  function cellAt(row: string, task: string) {
    return cells.value.get(`${row}\0${task}`) ?? null
  }

  async function loadRun(): Promise<void> {
    const id = runId.value
    if (id === null) {
      runMatrix.value = null
      return
    }
    try {
      const answer = await api.call('evaluations.matrix', { runId: id })
      if (runId.value === id) runMatrix.value = answer
    } catch (error) {
      toasts.showError(error)
    }
  }

  /** The whole matrix, and the chosen run's series (at first the newest run's). */
  async function load(): Promise<void> {
    try {
      matrix.value = await api.call('evaluations.matrix', {})
    } catch (error) {
      toasts.showError(error)
      return
    }
    if (runId.value === null || !runIds.value.includes(runId.value)) runId.value = runIds.value[0] ?? null
    await loadRun()
  }

  async function chooseRun(id: number | null): Promise<void> {
    runId.value = id
    await loadRun()
  }

  api.on('evaluation.status', ({ status }) => {
    if (status === 'completed' && matrix.value) void load()
  })

  return { matrix, runId, runMatrix, runIds, load, chooseRun, cellAt }
})
