import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import type {
  ArenaBattle,
  ArenaStanding,
  ArenaVote,
  DatasetSummary,
  DatasetVersionSummary
} from '../../../src-preload/contract'
import { useApi } from '../api'
import { targetInput, type TargetKey } from './targets'
import { useToastStore } from './toasts'

export type PromptSource = 'typed' | 'dataset'

export interface ExportedVotes {
  name: string
  datasetId: number
  versionId: number
  pairs: number
  skipped: number
}

/** How many of the newest battles are looked through for one waiting for its vote. */
const BATTLES_LOOKED_AT = 50

/**
 * The blind arena: two targets answer one prompt (typed, or drawn from a dataset version), shown as
 * A (left) and B (right) without their names; a vote reveals them. The leaderboard ranks every
 * target that took part; the votes export as a preference dataset.
 */
export const useArenaStore = defineStore('arena', () => {
  const api = useApi()
  const toasts = useToastStore()

  const a = ref<TargetKey>('')
  const b = ref<TargetKey>('')
  const source = ref<PromptSource>('typed')
  const prompt = ref('')
  /** Datasets that have a version to draw prompts from. */
  const datasets = ref<DatasetSummary[]>([])
  const datasetId = ref<number | null>(null)
  const versions = ref<DatasetVersionSummary[]>([])
  const versionId = ref<number | null>(null)
  const settings = reactive({
    chat: true,
    maxNewTokens: 128 as number | string,
    temperature: 0.7 as number | string
  })

  const battle = ref<ArenaBattle | null>(null)
  const answering = ref(false)
  const voting = ref(false)
  const leaderboard = ref<ArenaStanding[]>([])
  const exportName = ref('arena preferences')
  const exporting = ref(false)
  const exported = ref<ExportedVotes | null>(null)

  /** Why no battle can start, in words; null when one can. */
  const problem = computed<string | null>(() => {
    if (!targetInput(a.value) || !targetInput(b.value)) return 'Choose two models or checkpoints.'
    if (a.value === b.value) return 'Choose two different models or checkpoints.'
    if (source.value === 'typed' && prompt.value.trim() === '') return 'Type a prompt.'
    if (source.value === 'dataset' && versionId.value === null)
      return 'Choose a dataset version to draw a prompt from.'
    const tokens = settings.maxNewTokens
    if (typeof tokens !== 'number' || !Number.isInteger(tokens) || tokens < 1 || tokens > 4096)
      return 'Max new tokens: a whole number from 1 to 4096.'
    const temperature = settings.temperature
    if (typeof temperature !== 'number' || temperature < 0 || temperature > 5)
      return 'Temperature: from 0 to 5.'
    return null
  })
  const canStart = computed(() => problem.value === null && !answering.value)
  /** A battle waiting for its vote holds the next one back. */
  const awaitingVote = computed(() => battle.value !== null && battle.value.vote === null)

  async function loadLeaderboard(): Promise<void> {
    try {
      leaderboard.value = await api.call('arena.leaderboard', {})
    } catch (error) {
      toasts.showError(error)
    }
  }

  /**
   * Unless a battle is already waiting for its vote here, shows the newest one waiting anywhere: a
   * chat saved from the Playground side by side, or a battle left unvoted before a reload.
   */
  async function showWaitingBattle(): Promise<void> {
    if (awaitingVote.value) return
    try {
      const recent = await api.call('arena.battles', { limit: BATTLES_LOOKED_AT })
      battle.value = recent.find((candidate) => candidate.vote === null) ?? battle.value
    } catch (error) {
      toasts.showError(error)
    }
  }

  async function load(): Promise<void> {
    try {
      const all = await api.call('datasets.list', {})
      datasets.value = all.filter((dataset) => dataset.latestVersion !== null)
    } catch (error) {
      toasts.showError(error)
    }
    await Promise.all([loadLeaderboard(), showWaitingBattle()])
  }

  /** Lists the dataset's versions and picks the newest. */
  async function chooseDataset(id: number | null): Promise<void> {
    datasetId.value = id
    versions.value = []
    versionId.value = null
    if (id === null) return
    try {
      const listed = await api.call('datasets.versions', { id })
      if (datasetId.value !== id) return
      versions.value = listed
      versionId.value = listed[0]?.id ?? null
    } catch (error) {
      toasts.showError(error)
    }
  }

  async function start(): Promise<void> {
    if (!canStart.value) return
    answering.value = true
    try {
      battle.value = await api.call('arena.start', {
        a: targetInput(a.value)!,
        b: targetInput(b.value)!,
        ...(source.value === 'typed' ? { prompt: prompt.value } : { datasetVersionId: versionId.value! }),
        chat: settings.chat,
        maxNewTokens: settings.maxNewTokens as number,
        temperature: settings.temperature as number
      })
    } catch (error) {
      toasts.showError(error)
    } finally {
      answering.value = false
    }
  }

  /** Records the vote; the reply names who wrote which answer. */
  async function vote(choice: ArenaVote): Promise<void> {
    const current = battle.value
    if (!current || current.vote !== null || voting.value) return
    voting.value = true
    try {
      battle.value = await api.call('arena.vote', { id: current.id, vote: choice })
    } catch (error) {
      toasts.showError(error)
    } finally {
      voting.value = false
    }
    await loadLeaderboard()
  }

  async function exportVotes(): Promise<void> {
    const name = exportName.value.trim()
    if (name === '' || exporting.value) return
    exporting.value = true
    try {
      exported.value = { name, ...(await api.call('arena.export', { name })) }
    } catch (error) {
      toasts.showError(error)
    } finally {
      exporting.value = false
    }
  }

  return {
    a,
    b,
    source,
    prompt,
    datasets,
    datasetId,
    versions,
    versionId,
    settings,
    battle,
    answering,
    voting,
    leaderboard,
    exportName,
    exporting,
    exported,
    problem,
    canStart,
    awaitingVote,
    load,
    chooseDataset,
    start,
    vote,
    exportVotes
  }
})
