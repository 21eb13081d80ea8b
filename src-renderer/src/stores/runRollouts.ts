import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { RolloutGroup } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useToastStore } from './toasts'

/** How long after a step's progress the rollouts are asked for again (one request per burst of steps). */
export const ROLLOUTS_REFRESH_MS = 1000

/**
 * The rollout browser of the open run (grpo on its own samples): the steps it generated rollouts
 * at, and one step's prompts with their completions. Until the user picks an earlier step, the
 * latest is shown and each new step replaces it while the run trains.
 */
export const useRunRolloutsStore = defineStore('runRollouts', () => {
  const api = useApi()
  const toasts = useToastStore()
  const runId = ref<number | null>(null)
  const steps = ref<number[]>([])
  const step = ref<number | null>(null)
  const groups = ref<RolloutGroup[]>([])
  /** Whether the latest step is shown and new steps take its place. */
  const following = ref(true)

  /** Bumped on every request, so that an answer to an earlier one is dropped. */
  let request = 0
  let refreshTimer: ReturnType<typeof setTimeout> | null = null

  async function fetchStep(wanted: number | undefined): Promise<void> {
    const id = runId.value
    if (id === null) return
    const asked = ++request
    try {
      const answer = await api.call('runs.rollouts', wanted === undefined ? { id } : { id, step: wanted })
      if (asked !== request) return
      steps.value = answer.steps
      step.value = answer.step
      groups.value = answer.groups
    } catch (error) {
      toasts.showError(error)
    }
  }

  function open(id: number | null): void {
    runId.value = id
    steps.value = []
    step.value = null
    groups.value = []
    following.value = true
    if (refreshTimer) clearTimeout(refreshTimer)
    refreshTimer = null
    request++
    if (id !== null) void fetchStep(undefined)
  }

  /** Shows step `wanted`; picking the latest follows new steps again. */
  function showStep(wanted: number): Promise<void> {
    following.value = wanted === steps.value.at(-1)
    return fetchStep(following.value ? undefined : wanted)
  }

  api.on('run.progress', (event) => {
    if (event.runId !== runId.value) return
    refreshTimer ??= setTimeout(() => {
      refreshTimer = null
      void fetchStep(following.value ? undefined : (step.value ?? undefined))
    }, ROLLOUTS_REFRESH_MS)
  })

  return { runId, steps, step, groups, following, open, showStep }
})
