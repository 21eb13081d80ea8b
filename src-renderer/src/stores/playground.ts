import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import type { GenerateOutput } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useRequestedJob } from '../composables/useRequestedJob'
import { targetInput, useTargetsStore, type TargetKey } from './targets'
import { useToastStore } from './toasts'

/** models.generate's own bound on new tokens, whatever the model. */
export const MAX_NEW_TOKENS = 4096

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
  const settings = reactive({
    prompt: '',
    chat: true,
    maxNewTokens: 128 as number | string,
    temperature: 0.7 as number | string,
    seed: 0 as number | string,
    // Off while empty ('' is what an emptied number input gives).
    topP: '' as number | string,
    topK: '' as number | string,
    stop: ''
  })

  /** The text so far of the current (or last) generation. */
  const output = ref('')
  const result = ref<GenerateOutput | null>(null)
  const generating = ref(false)
  const request = useRequestedJob((text) => (output.value += text))

  /** The base model whose context bounds a generation: the one chosen, or the one a chosen checkpoint's run trains. */
  const targetModel = computed(() => {
    const baseModelId = targets.baseModelIdOf(target.value)
    return models.value.find((model) => model.id === baseModelId) ?? null
  })
  /** The most new tokens the field accepts: the context less at least one prompt token. */
  const maxNewTokensLimit = computed(() => {
    const context = targetModel.value?.contextLength
    return context ? Math.min(MAX_NEW_TOKENS, context - 1) : MAX_NEW_TOKENS
  })
  /** Why the new tokens asked for cannot be generated, in words; null when they can. */
  const maxNewTokensProblem = computed(() => {
    const asked = settings.maxNewTokens
    if (typeof asked !== 'number' || !Number.isInteger(asked) || asked < 1)
      return 'Ask for 1 new token or more.'
    if (asked <= maxNewTokensLimit.value) return null
    const model = targetModel.value
    if (model?.contextLength && model.contextLength <= MAX_NEW_TOKENS) {
      return (
        `${model.name} reads ${model.contextLength} tokens at once, the prompt included: ` +
        `ask for at most ${maxNewTokensLimit.value} new tokens, fewer for a long prompt.`
      )
    }
    return `At most ${MAX_NEW_TOKENS} new tokens at a time.`
  })

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
        maxNewTokens: settings.maxNewTokens as number,
        temperature: settings.temperature as number,
        seed: settings.seed as number,
        ...(typeof settings.topP === 'number' ? { topP: settings.topP } : {}),
        ...(typeof settings.topK === 'number' ? { topK: settings.topK } : {}),
        ...(settings.stop !== '' ? { stop: [settings.stop] } : {}),
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
