import { defineStore } from 'pinia'
import { computed, reactive, ref, watch } from 'vue'
import type { RewardInfo, RewardTestResult } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useRequestedJob } from '../composables/useRequestedJob'
import {
  buildRewardSpec,
  defaultRewardTerm,
  parseRewardSpecJson,
  rewardSpecJson
} from '../components/rewards/rewardSpec'
import { rewardedDataVersion, useRunDraftStore } from './runDraft'
import { useToastStore } from './toasts'

/** How many train prompts the panel's test answers (rewards.test takes 1 to 20). */
export const TEST_PROMPTS = 5

/**
 * The new-run form's Rewards panel: the reward functions to compose a spec from, the spec itself
 * (kept in the run draft, `rewardSpec`) as terms and as editable JSON, and a test of it on the first
 * train prompts of the chosen dataset version with the chosen base model. The test is a requested
 * job (useRequestedJob): Stop cancels this window's test, and progress is read from its job's
 * events only.
 */
export const useRewardsTestStore = defineStore('rewardsTest', () => {
  const api = useApi()
  const toasts = useToastStore()
  const runDraft = useRunDraftStore()
  // Read through the draft each time: resetting the form replaces the draft's spec.
  const spec = computed(() => runDraft.draft.rewardSpec)

  const rewards = ref<RewardInfo[]>([])
  const byName = computed(() => new Map(rewards.value.map((reward) => [reward.name, reward])))

  async function load(): Promise<void> {
    try {
      rewards.value = await api.call('rewards.list', {})
    } catch (error) {
      toasts.showError(error)
    }
  }

  function addTerm(name: string): void {
    const reward = byName.value.get(name)
    if (reward) spec.value.terms.push(defaultRewardTerm(reward))
  }

  function removeTerm(index: number): void {
    spec.value.terms.splice(index, 1)
  }

  /** Another reward in the term's place, with that reward's default parameters and the same weight. */
  function chooseReward(index: number, name: string): void {
    const reward = byName.value.get(name)
    if (reward)
      spec.value.terms[index] = { ...defaultRewardTerm(reward), weight: spec.value.terms[index].weight }
  }

  // --- The spec as JSON: follows the terms, and sets them when it parses ------------------------

  const jsonText = ref(rewardSpecJson(spec.value))
  const jsonError = ref<string | null>(null)
  /** The terms the JSON last set: the text that set them stays as typed, not reformatted. */
  let setFromJson: string | null = null

  watch(
    () => rewardSpecJson(spec.value),
    (json) => {
      if (json === setFromJson) return
      setFromJson = null
      jsonText.value = json
      jsonError.value = null
    }
  )

  function editJson(text: string): void {
    jsonText.value = text
    const parsed = parseRewardSpecJson(text, rewards.value)
    if ('error' in parsed) {
      jsonError.value = parsed.error
      return
    }
    jsonError.value = null
    spec.value.terms.splice(0, spec.value.terms.length, ...parsed.terms)
    setFromJson = rewardSpecJson(spec.value)
  }

  // --- Testing the spec on a few prompts ----------------------------------------------------------

  const settings = reactive({
    completions: 2 as number | string,
    maxNewTokens: 64 as number | string,
    temperature: 1 as number | string
  })
  const built = computed(() => buildRewardSpec(spec.value))
  /** What keeps the test from running, in words: the spec's problems, then what the form lacks. */
  const problems = computed(() => {
    const { draft } = runDraft
    const missing = [...built.value.problems]
    if (draft.baseModelId === null) missing.push('Choose a base model')
    if (rewardedDataVersion(draft) === null) missing.push('Choose a dataset version')
    for (const [label, value] of [
      ['Completions per prompt', settings.completions],
      ['Max new tokens', settings.maxNewTokens],
      ['Temperature', settings.temperature]
    ] as const) {
      if (typeof value !== 'number') missing.push(`${label} must be a number`)
    }
    return missing
  })

  const result = ref<RewardTestResult | null>(null)
  /** The call's refusal or failure, shown in the panel. */
  const error = ref<string | null>(null)
  const testing = ref(false)
  const request = useRequestedJob()
  const progress = ref<{ done: number; total: number; message: string } | null>(null)

  const canTest = computed(() => !testing.value && problems.value.length === 0)

  api.on('job.progress', ({ jobId, done, total, message }) => {
    if (request.jobId.value !== null && jobId === request.jobId.value)
      progress.value = { done, total, message }
  })

  async function test(): Promise<void> {
    const { draft } = runDraft
    const chosen = built.value.spec
    if (!canTest.value || !chosen) return
    const requestId = request.begin()
    testing.value = true
    error.value = null
    progress.value = null
    try {
      result.value = await api.call('rewards.test', {
        baseModelId: draft.baseModelId!,
        datasetVersionId: rewardedDataVersion(draft)!,
        spec: chosen,
        prompts: TEST_PROMPTS,
        completions: settings.completions as number,
        maxNewTokens: settings.maxNewTokens as number,
        temperature: settings.temperature as number,
        seed: typeof draft.seed === 'number' ? draft.seed : 0,
        requestId
      })
    } catch (failure) {
      result.value = null
      error.value = failure instanceof Error ? failure.message : String(failure)
    } finally {
      testing.value = false
      request.end()
    }
  }

  return {
    rewards,
    byName,
    spec,
    load,
    addTerm,
    removeTerm,
    chooseReward,
    jsonText,
    jsonError,
    editJson,
    settings,
    built,
    problems,
    result,
    error,
    testing,
    jobId: request.jobId,
    progress,
    stopping: request.stopping,
    canTest,
    test,
    /** Cancels the running test; its call then answers with the completions scored so far. */
    stop: request.stop
  }
})
