import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ModelListing, RunCheckpoints } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useToastStore } from './toasts'

/** What a model picker's value says: `base:<model id>` or `checkpoint:<checkpoint id>`. */
export type TargetKey = `base:${number}` | `checkpoint:${number}` | ''

/** The call input fields a target key stands for; null for '' or a malformed key. */
export function targetInput(key: TargetKey): { baseModelId: number } | { checkpointId: number } | null {
  const match = /^(base|checkpoint):(\d+)$/.exec(key)
  if (!match) return null
  const id = Number(match[2])
  return match[1] === 'base' ? { baseModelId: id } : { checkpointId: id }
}

/** Runs whose checkpoints the pickers list (newest first); older ones are out of the pickers' reach. */
const RUNS_LISTED = 50

/**
 * What can be generated from, evaluated or sent to the arena: the registered base models and the
 * checkpoints of recent runs.
 */
export const useTargetsStore = defineStore('targets', () => {
  const api = useApi()
  const toasts = useToastStore()
  const models = ref<ModelListing[]>([])
  const runs = ref<RunCheckpoints[]>([])
  const loaded = ref(false)

  async function load(): Promise<void> {
    try {
      const [registered, withCheckpoints] = await Promise.all([
        api.call('models.list', {}),
        api.call('runs.checkpoints', { limit: RUNS_LISTED })
      ])
      models.value = registered
      runs.value = withCheckpoints
      loaded.value = true
    } catch (error) {
      toasts.showError(error)
    }
  }

  /** The base model whose tokenizer, context and chat template a target uses (a checkpoint's: its run's). */
  function baseModelIdOf(key: TargetKey): number | null {
    const target = targetInput(key)
    if (!target) return null
    if ('baseModelId' in target) return target.baseModelId
    return (
      runs.value.find((run) => run.checkpoints.some((c) => c.id === target.checkpointId))?.baseModelId ?? null
    )
  }

  function runName(runId: number): string {
    return runs.value.find((run) => run.runId === runId)?.runName ?? `run #${runId}`
  }

  return { models, runs, loaded, load, baseModelIdOf, runName }
})
