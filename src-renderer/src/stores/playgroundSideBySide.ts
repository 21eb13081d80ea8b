import { defineStore } from 'pinia'
import { computed, reactive, ref, watch } from 'vue'
import type { ArenaBattle, GenerateMessage, GenerateOutput } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useRequestedJob } from '../composables/useRequestedJob'
import {
  contextModelOf,
  defaultSamplingSettings,
  maxNewTokensLimit,
  maxNewTokensProblem,
  samplingInput,
  type SamplingSettings
} from './playgroundSampling'
import { targetInput, useTargetsStore, type TargetKey } from './targets'
import { useToastStore } from './toasts'

/** The left side (0) and the right side (1); the arena calls them a and b. */
export type Side = 0 | 1
export const SIDES: readonly Side[] = [0, 1]

/** One side's answer to a turn: its text grows as the pieces stream in. */
export interface SideAnswer {
  text: string
  /** The call's answer once the generation has ended; null while it streams or when it failed. */
  result: GenerateOutput | null
  /** Why the generation failed; null when it did not. */
  error: string | null
  /** The sampling fields it was generated with, kept for the arena battle. */
  sampling: ReturnType<typeof samplingInput>
}

/** A user turn, shared by both sides, and each side's answer to it. */
export interface ChatTurn {
  user: string
  answers: [SideAnswer, SideAnswer]
}

interface SideState {
  target: TargetKey
  /** Its own settings, used while `sameSettings` is off. */
  settings: SamplingSettings
  generating: boolean
}

/**
 * The Playground side by side: two targets answer the same chat at once, turn after turn. The
 * user's turns are shared; each side's history holds its own answers, so each model continues its
 * own conversation. Both stream at once, each through its own request (useRequestedJob), and each
 * can be stopped alone. The targets are fixed while the chat has turns (clear it to change them),
 * so that a chat saved to the arena is the work of the two it names.
 */
export const useSideBySideStore = defineStore('playgroundSideBySide', () => {
  const api = useApi()
  const toasts = useToastStore()
  const targets = useTargetsStore()

  const sides = reactive<SideState[]>(
    SIDES.map(() => ({ target: '' as TargetKey, settings: defaultSamplingSettings(), generating: false }))
  )
  /** One set of sampling settings for both sides, or each its own. */
  const sameSettings = ref(true)
  const sharedSettings = reactive(defaultSamplingSettings())
  // Settings made per side start from the shared ones, not from defaults the user never saw.
  watch(sameSettings, (same) => {
    if (!same) for (const side of sides) Object.assign(side.settings, sharedSettings)
  })

  const turns = ref<ChatTurn[]>([])
  /** The next user turn, as typed. */
  const draft = ref('')
  /** The battle the chat as it stands was saved as; a new turn makes a new one to save. */
  const saved = ref<ArenaBattle | null>(null)
  const saving = ref(false)
  const requests = SIDES.map((side) =>
    useRequestedJob((text) => {
      const answer = turns.value.at(-1)?.answers[side]
      if (answer) answer.text += text
    })
  )

  const busy = computed(() => sides.some((side) => side.generating))
  const hasChat = computed(() => turns.value.length > 0)

  function settingsOf(side: Side): SamplingSettings {
    return sameSettings.value ? sharedSettings : sides[side].settings
  }

  const contextModels = computed(() => SIDES.map((side) => contextModelOf(targets, sides[side].target)))
  /** The most new tokens each side's field accepts. */
  const limits = computed(() => SIDES.map((side) => maxNewTokensLimit(contextModels.value[side])))
  /** Why each side's new tokens cannot be generated, in words; null when they can. */
  const problems = computed(() =>
    SIDES.map((side) => maxNewTokensProblem(settingsOf(side).maxNewTokens, contextModels.value[side]))
  )
  /** With the settings shared, the stricter model bounds both. */
  const sharedLimit = computed(() => Math.min(...limits.value))
  const sharedProblem = computed(() => problems.value.find((problem) => problem !== null) ?? null)

  /** Why the draft cannot be sent now, in words; null when it can. */
  const sendProblem = computed<string | null>(() => {
    if (sides.some((side) => targetInput(side.target) === null))
      return 'Choose a model or checkpoint on each side.'
    if (problems.value.some((problem) => problem !== null)) return 'Fix the max new tokens first.'
    if (draft.value.trim() === '') return 'Type a message.'
    return null
  })
  const canSend = computed(() => !busy.value && sendProblem.value === null)

  /** How a target is named on its side's column. */
  function targetLabel(key: TargetKey): string {
    const chosen = targetInput(key)
    if (!chosen) return ''
    if ('baseModelId' in chosen)
      return targets.models.find((m) => m.id === chosen.baseModelId)?.name ?? `model #${chosen.baseModelId}`
    for (const run of targets.runs) {
      const checkpoint = run.checkpoints.find((c) => c.id === chosen.checkpointId)
      if (checkpoint) return `${run.runName} · step ${checkpoint.step}`
    }
    return `checkpoint #${chosen.checkpointId}`
  }

  async function load(): Promise<void> {
    await targets.load()
    if (sides[0].target === '' && targets.models.length > 0) sides[0].target = `base:${targets.models[0].id}`
    if (sides[1].target === '') {
      const newestCheckpoint = targets.runs[0]?.checkpoints.at(-1)
      if (newestCheckpoint) sides[1].target = `checkpoint:${newestCheckpoint.id}`
      else if (targets.models.length > 1) sides[1].target = `base:${targets.models[1].id}`
    }
  }

  /** What a side has said so far: the shared user turns, each followed by this side's own answer. */
  function historyOf(side: Side): GenerateMessage[] {
    return turns.value.flatMap((turn): GenerateMessage[] => [
      { role: 'user', content: turn.user },
      { role: 'assistant', content: turn.answers[side].text }
    ])
  }

  async function answer(side: Side, messages: GenerateMessage[], into: SideAnswer): Promise<void> {
    const request = requests[side]
    const requestId = request.begin()
    sides[side].generating = true
    try {
      const result = await api.call('models.generate', {
        ...targetInput(sides[side].target)!,
        messages,
        ...into.sampling,
        requestId
      })
      // The answer's text is the whole of it, even if a piece was lost on a reconnect.
      into.text = result.text
      into.result = result
    } catch (error) {
      into.error = error instanceof Error ? error.message : String(error)
      toasts.showError(error)
    } finally {
      sides[side].generating = false
      request.end()
    }
  }

  /** Sends the draft as the next user turn; both sides answer at once, streaming as they come. */
  async function send(): Promise<void> {
    if (!canSend.value) return
    const user = draft.value
    const conversations = SIDES.map((side) => [...historyOf(side), { role: 'user' as const, content: user }])
    const newAnswer = (side: Side): SideAnswer => ({
      text: '',
      result: null,
      error: null,
      sampling: samplingInput(settingsOf(side))
    })
    turns.value.push({ user, answers: [newAnswer(0), newAnswer(1)] })
    // The reactive turn, so that what the calls write shows as it comes.
    const turn = turns.value.at(-1)!
    draft.value = ''
    saved.value = null
    await Promise.all(SIDES.map((side) => answer(side, conversations[side], turn.answers[side])))
  }

  /** Cancels both running generations; each answer keeps the text so far. */
  async function stopBoth(): Promise<void> {
    await Promise.all(requests.map((request) => request.stop()))
  }

  /** Starts a new chat: the turns go, the targets can be changed again. */
  function clear(): void {
    if (busy.value) return
    turns.value = []
    saved.value = null
  }

  /** Why the chat cannot go to the arena, in words; null when it can. */
  const saveProblem = computed<string | null>(() => {
    if (!hasChat.value) return 'Chat first: the arena votes on the last turn.'
    if (busy.value) return 'Wait for both answers.'
    if (sides[0].target === sides[1].target) return 'The arena compares two different models or checkpoints.'
    if (turns.value.some((turn) => turn.answers.some((a) => a.error !== null)))
      return 'An answer failed: clear the chat and try again.'
    return null
  })

  /** Records the chat as an arena battle: the last turn is voted on, the earlier ones are its history. */
  async function saveToArena(): Promise<void> {
    if (saveProblem.value !== null || saving.value || saved.value !== null) return
    saving.value = true
    try {
      saved.value = await api.call('arena.record', {
        a: targetInput(sides[0].target)!,
        b: targetInput(sides[1].target)!,
        turns: turns.value.map((turn) => ({
          user: turn.user,
          a: turn.answers[0].text,
          b: turn.answers[1].text
        })),
        settings: {
          turns: turns.value.map((turn) => ({ a: turn.answers[0].sampling, b: turn.answers[1].sampling }))
        }
      })
    } catch (error) {
      toasts.showError(error)
    } finally {
      saving.value = false
    }
  }

  return {
    sides,
    sameSettings,
    sharedSettings,
    turns,
    draft,
    busy,
    hasChat,
    limits,
    problems,
    sharedProblem,
    sharedLimit,
    sendProblem,
    canSend,
    saved,
    saving,
    saveProblem,
    settingsOf,
    targetLabel,
    load,
    send,
    /** Whether a side's generation can be stopped now: it runs, its job is named, no stop is pending. */
    canStop: (side: Side) =>
      sides[side].generating && requests[side].jobId.value !== null && !requests[side].stopping.value,
    /** Cancels one side's generation; its answer keeps the text so far, finish reason aborted. */
    stop: (side: Side) => requests[side].stop(),
    stopBoth,
    clear,
    saveToArena
  }
})
