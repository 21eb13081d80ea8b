import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import type { GenerateOutput } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useRequestedJob } from '../composables/useRequestedJob'
import {
  contextModelOf,
  defaultSamplingSettings,
  maxNewTokensLimit as limitFor,
  maxNewTokensProblem as problemFor,
  samplingInput
} from './playgroundSampling'
import { targetInput, useTargetsStore, type TargetKey } from './targets'
import { useToastStore } from './toasts'

/**
 * Trying a prompt on a base model or a run's checkpoint. models.generate answers only when the
 * generation ends, while its text streams as job.output events tagged with this store's request
 * (useRequestedJob): the store keeps only pieces of its own request (another window's generation
 * never leaks in), and Stop cancels its own job.
 */
export const usePlaygroundStore = defineStore('playground', () => {
  const api = useApi()
  const toasts = useToastStore()

  const targets = useTargetsStore()
  const models = computed(() => targets.models)
  const runs = computed(() => targets.runs)
  const loaded = computed(() => targets.loaded)

  const target = ref<TargetKey>('')
  const settings = reactive({ prompt: '', chat: true, ...defaultSamplingSettings() })

  /** The text so far of the current (or last) generation. */
  const output = ref('')
  const result = ref<GenerateOutput | null>(null)
  const generating = ref(false)
  const request = useRequestedJob((text) => (output.value += text))

  /** The base model whose context bounds a generation. */
  const targetModel = computed(() => contextModelOf(targets, target.value))
  const maxNewTokensLimit = computed(() => limitFor(targetModel.value))
  const maxNewTokensProblem = computed(() => problemFor(settings.maxNewTokens, targetModel.value))

  const canGenerate = computed(
    () => !generating.value && targetInput(target.value) !== null && maxNewTokensProblem.value === null
  )

  async function load(): Promise<void> {
    await targets.load()
    if (target.value === '' && models.value.length > 0) target.value = `base:${models.value[0].id}`
  }

  /** Runs one generation; its text fills `output` as it streams. Errors are toasts. */
  async function generate(): Promise<void> {
    const chosen = targetInput(target.value)
    if (!chosen || !canGenerate.value) return
    const requestId = request.begin()
    generating.value = true
    output.value = ''
    result.value = null
    try {
      const answer = await api.call('models.generate', {
        ...chosen,
        prompt: settings.prompt,
        chat: settings.chat,
        ...samplingInput(settings),
        requestId
      })
      // The answer's text is the whole of it, even if a piece was lost on a reconnect.
      output.value = answer.text
      result.value = answer
    } catch (error) {
      toasts.showError(error)
    } finally {
      generating.value = false
      request.end()
    }
  }

  return {
    models,
    runs,
    loaded,
    target,
    settings,
    output,
    result,
    generating,
    /** The running generation's job, once its first event named it. */
    jobId: request.jobId,
    stopping: request.stopping,
    targetModel,
    maxNewTokensLimit,
    maxNewTokensProblem,
    canGenerate,
    load,
    generate,
    /** Cancels the running generation; its call then answers with the text so far, finish reason aborted. */
    stop: request.stop
  }
})
