import { defineStore } from 'pinia'
import { computed, reactive, ref, watch } from 'vue'
import type {
  BasePrecision,
  CallInput,
  DatasetVersionSummary,
  Device,
  EvalTaskInfo,
  ModelValidation,
  RunPreflight,
  RunSummary
} from '../../../src-preload/contract'
import { useApi } from '../api'
import { buildRewardSpec, type RewardSpecDraft } from '../components/rewards/rewardSpec'
import { recipeDefaults, type RecipeParamValue } from '../components/runs/recipeParams'
import { useModelsStore } from './models'
import { useRecipesStore } from './recipes'
import { useRunsStore } from './runs'
import { useToastStore } from './toasts'

export type RunSettings = CallInput<'runs.start'>

/**
 * The linear layers LoRA can adapt in the llama family, by PEFT name (the engine's
 * LORA_TARGET_MODULES; the server refuses any other).
 */
export const LORA_TARGETS = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj'
] as const
/** The engine's defaults (engine/train/train-config.ts), shown as placeholders when left empty. */
export const DEFAULT_LR = { lora: 2e-4, full: 2e-5 } as const

/** Another dataset's version mixed into a stage's data, with its ratio against the stage's own. */
export interface MixDraft {
  datasetVersionId: number | null
  ratio: number | ''
}

/** A stage's data mixed with others (none: its own data alone), and the ratio of its own. */
export interface MixtureDraft {
  mixWith: MixDraft[]
  ownRatio: number | ''
}

/**
 * A pipeline stage after the first (the form's own settings are stage 1): it starts from the stage
 * before and trains with its own recipe, data and schedule; what it leaves empty is stage 1's.
 */
export interface StageDraft extends MixtureDraft {
  recipe: string
  recipeParams: Record<string, RecipeParamValue>
  /** null: the data of stage 1. */
  datasetVersionId: number | null
  /** Share of its rows whose prompt an earlier stage trained on; '' = not controlled (measured only). */
  overlap: number | ''
  maxSteps: number | ''
  /** '' = stage 1's. */
  lr: number | ''
  batchSize: number | ''
}

export function defaultStageDraft(recipe = 'grpo'): StageDraft {
  return {
    recipe,
    recipeParams: {},
    datasetVersionId: null,
    overlap: '',
    maxSteps: 20,
    lr: '',
    batchSize: '',
    mixWith: [],
    ownRatio: 1
  }
}

/**
 * The new-run form as the user fills it. Number fields are bound with v-model.number, which gives
 * '' for an emptied field: such values are reported by `buildRunSettings`, not sent.
 */
export interface RunDraft extends MixtureDraft {
  name: string
  baseModelId: number | null
  datasetId: number | null
  datasetVersionId: number | null
  recipe: string
  recipeParams: Record<string, RecipeParamValue>
  adapter: 'lora' | 'full'
  lora: { r: number | ''; alpha: number | ''; dropout: number | ''; targets: string[] }
  freezeEmbeddings: boolean
  optimizer: 'adamw' | 'sgd'
  /** '' = the engine's default for the adapter. */
  lr: number | ''
  weightDecay: number | ''
  lrScheduler: 'constant' | 'linear' | 'cosine'
  warmupSteps: number | ''
  maxGradNorm: number | ''
  batchSize: number | ''
  gradAccum: number | ''
  lengthBy: 'epochs' | 'steps'
  epochs: number | ''
  maxSteps: number | ''
  /** '' = the model's context length, capped by the engine. */
  maxSeqLen: number | ''
  seed: number | ''
  saveEvery: number | ''
  evalEvery: number | ''
  /** Built-in tasks the checkpoints are evaluated on while the run trains (none: no benchmarks). */
  benchmarks: { tasks: string[]; every: number | ''; limit: number | '' }
  packing: boolean
  /** Train without the samples the chat template loses content of, instead of refusing the run. */
  skipTemplateDrops: boolean
  device: Device
  /** How LoRA's frozen base is kept in memory; full fine-tuning always trains float32 (sent as fp32). */
  basePrecision: BasePrecision
  /** Recompute each layer's activations in the backward pass: less memory, slower steps. */
  recompute: boolean
  /**
   * The reward spec composed in the Rewards panel: the `rewards` of every grpo stage of the run (one
   * spec per run), kept with the draft until the settings are built.
   */
  rewardSpec: RewardSpecDraft
  /** Stages after the form's own (a pipeline); empty for a one-stage run. */
  stages: StageDraft[]
}

export function defaultRunDraft(): RunDraft {
  return {
    name: '',
    baseModelId: null,
    datasetId: null,
    datasetVersionId: null,
    recipe: 'sft',
    recipeParams: {},
    adapter: 'lora',
    lora: { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] },
    freezeEmbeddings: false,
    optimizer: 'adamw',
    lr: '',
    weightDecay: 0,
    lrScheduler: 'linear',
    warmupSteps: 0,
    maxGradNorm: 1,
    batchSize: 4,
    gradAccum: 1,
    lengthBy: 'epochs',
    epochs: 1,
    maxSteps: 200,
    maxSeqLen: '',
    seed: 0,
    saveEvery: 100,
    evalEvery: 50,
    benchmarks: { tasks: [], every: 100, limit: 50 },
    packing: false,
    skipTemplateDrops: false,
    device: 'cpu',
    basePrecision: 'fp32',
    recompute: true,
    rewardSpec: { terms: [] },
    stages: [],
    mixWith: [],
    ownRatio: 1
  }
}

/**
 * Whether a stage's recipe answers its prompts and scores the answers (grpo, chord, prefix-rft,
 * seele): such recipes declare a `rewards` parameter, which the Rewards panel's spec fills.
 */
export function takesRewards(stage: Pick<RunDraft, 'recipeParams'>): boolean {
  return 'rewards' in stage.recipeParams
}

/** Whether any stage of the draft is scored by rewards (then the Rewards panel is shown). */
export function draftTakesRewards(draft: Pick<RunDraft, 'recipeParams' | 'stages'>): boolean {
  return takesRewards(draft) || draft.stages.some(takesRewards)
}

/** The dataset version the first rewarded stage answers prompts from (the Rewards panel tests on it). */
export function rewardedDataVersion(
  draft: Pick<RunDraft, 'recipeParams' | 'stages' | 'datasetVersionId'>
): number | null {
  if (takesRewards(draft)) return draft.datasetVersionId
  return draft.stages.find(takesRewards)?.datasetVersionId ?? draft.datasetVersionId
}

/**
 * The recipe parameters, `rewards` taken from the Rewards panel's spec as JSON (the run then
 * answers its prompts and scores the answers before every step). The stored data are
 * conversations, not given rollouts, so a rewarded run from the app needs a spec.
 */
function withRewards(
  stage: Pick<RunDraft, 'recipeParams'>,
  rewardSpec: RewardSpecDraft,
  problems: string[]
): Record<string, RecipeParamValue> {
  if (!takesRewards(stage)) return { ...stage.recipeParams }
  const { rewards: _edited, ...others } = stage.recipeParams
  const { spec, problems: specProblems } = buildRewardSpec(rewardSpec)
  for (const problem of specProblems) {
    if (!problems.includes(`Rewards: ${problem}`)) problems.push(`Rewards: ${problem}`)
  }
  return spec ? { ...others, rewards: JSON.stringify(spec) } : others
}

/** Each recipe parameter must have a value; `where` names the stage. */
function checkParamValues(params: Record<string, RecipeParamValue>, where: string, problems: string[]): void {
  const label = where === '' ? 'Recipe parameter' : `${where}recipe parameter`
  for (const [name, value] of Object.entries(params)) {
    if (value === '' || (typeof value === 'number' && !Number.isFinite(value))) {
      problems.push(`${label} ${name} must be a value`)
    }
  }
}

type StageSettings = NonNullable<RunSettings['stages']>[number]

/** The mixture of `own` with the draft's other sources, or undefined when none are mixed in. */
function buildMixture(
  own: number | null,
  draft: MixtureDraft,
  where: string,
  problems: string[]
): RunSettings['mixture'] {
  if (draft.mixWith.length === 0 || own === null) return undefined
  const ratio = (value: number | '') => {
    if (typeof value !== 'number' || !(value > 0)) problems.push(`${where}mixture ratios must be numbers > 0`)
    return typeof value === 'number' ? value : NaN
  }
  const others = draft.mixWith.map((source) => {
    if (source.datasetVersionId === null) problems.push(`${where}choose the data to mix in`)
    return { datasetVersionId: source.datasetVersionId ?? 0, ratio: ratio(source.ratio) }
  })
  return { sources: [{ datasetVersionId: own, ratio: ratio(draft.ownRatio) }, ...others] }
}

function buildStages(draft: RunDraft, problems: string[]): StageSettings[] {
  return draft.stages.map((stage, index) => {
    const where = `Stage ${index + 2}: `
    const recipeParams = withRewards(stage, draft.rewardSpec, problems)
    checkParamValues(recipeParams, where, problems)
    if (typeof stage.maxSteps !== 'number' || !Number.isFinite(stage.maxSteps))
      problems.push(`${where}steps must be a number`)
    const built: StageSettings = {
      recipe: stage.recipe,
      recipeParams,
      datasetVersionId: stage.datasetVersionId ?? draft.datasetVersionId ?? 0,
      maxSteps: typeof stage.maxSteps === 'number' ? stage.maxSteps : NaN
    }
    const mixture = buildMixture(built.datasetVersionId, stage, where, problems)
    if (mixture) built.mixture = mixture
    if (stage.overlap !== '') built.overlap = stage.overlap
    if (stage.lr !== '') built.lr = stage.lr
    if (stage.batchSize !== '') built.batchSize = stage.batchSize
    return built
  })
}

/**
 * The runs.start input for a draft, or what keeps it from being one. Ranges are left to the
 * server's schema, whose message names the field.
 */
export function buildRunSettings(draft: RunDraft): { settings: RunSettings | null; problems: string[] } {
  const problems: string[] = []
  const number = (label: string, value: number | ''): number => {
    if (typeof value !== 'number' || !Number.isFinite(value)) problems.push(`${label} must be a number`)
    return typeof value === 'number' ? value : NaN
  }
  const optional = (value: number | ''): number | undefined => (value === '' ? undefined : value)

  if (draft.baseModelId === null) problems.push('Choose a base model')
  if (draft.datasetVersionId === null) problems.push('Choose a dataset version')
  if (draft.adapter === 'lora' && draft.lora.targets.length === 0)
    problems.push('Choose at least one LoRA target')
  const recipeParams = withRewards(draft, draft.rewardSpec, problems)
  checkParamValues(recipeParams, '', problems)

  const settings: RunSettings = {
    baseModelId: draft.baseModelId ?? 0,
    datasetVersionId: draft.datasetVersionId ?? 0,
    recipe: draft.recipe,
    recipeParams,
    adapter: draft.adapter,
    optimizer: draft.optimizer,
    weightDecay: number('Weight decay', draft.weightDecay),
    lrScheduler: draft.lrScheduler,
    warmupSteps: number('Warm-up steps', draft.warmupSteps),
    maxGradNorm: number('Gradient clipping', draft.maxGradNorm),
    batchSize: number('Batch size', draft.batchSize),
    gradAccum: number('Gradient accumulation', draft.gradAccum),
    seed: number('Seed', draft.seed),
    saveEvery: number('Checkpoint every', draft.saveEvery),
    evalEvery: number('Validate every', draft.evalEvery),
    packing: draft.packing,
    templateDrops: draft.skipTemplateDrops ? 'skip' : 'refuse',
    device: draft.device,
    basePrecision: draft.adapter === 'lora' ? draft.basePrecision : 'fp32',
    recompute: draft.recompute
  }
  if (draft.name.trim() !== '') settings.name = draft.name.trim()
  if (draft.adapter === 'lora') {
    settings.lora = {
      r: number('LoRA rank', draft.lora.r),
      alpha: number('LoRA alpha', draft.lora.alpha),
      dropout: number('LoRA dropout', draft.lora.dropout),
      targets: [...draft.lora.targets]
    }
  } else {
    settings.freezeEmbeddings = draft.freezeEmbeddings
  }
  const lr = optional(draft.lr)
  if (lr !== undefined) settings.lr = lr
  if (draft.lengthBy === 'epochs') settings.epochs = number('Epochs', draft.epochs)
  else settings.maxSteps = number('Steps', draft.maxSteps)
  const maxSeqLen = optional(draft.maxSeqLen)
  if (maxSeqLen !== undefined) settings.maxSeqLen = maxSeqLen
  const mixture = buildMixture(draft.datasetVersionId, draft, 'Data: ', problems)
  if (mixture) settings.mixture = mixture
  if (draft.stages.length > 0) settings.stages = buildStages(draft, problems)
  const { benchmarks } = draft
  if (benchmarks.tasks.length > 0) {
    settings.benchmarks = {
      tasks: [...benchmarks.tasks],
      every: number('Benchmark every', benchmarks.every),
      limit: optional(benchmarks.limit) ?? null
    }
  }

  return { settings: problems.length === 0 ? settings : null, problems }
}

/** Trailing separators do not make another folder. */
function samePath(a: string, b: string): boolean {
  const normal = (path: string) => path.trim().replace(/[/\\]+$/, '')
  return normal(a) === normal(b)
}

/** The new-run form, its pre-flight report and the way to a started run. */
/**
 * `chosen` with `item` added (`on`) or left out, in the order of `known`: equal choices give equal
 * settings (and one pre-flight), whatever order they were clicked in.
 */
function toggledInOrder(
  known: readonly string[],
  chosen: readonly string[],
  item: string,
  on: boolean
): string[] {
  const next = new Set(chosen)
  if (on) next.add(item)
  else next.delete(item)
  return known.filter((name) => next.has(name))
}

export const useRunDraftStore = defineStore('runDraft', () => {
  const api = useApi()
  const toasts = useToastStore()
  const models = useModelsStore()
  const recipes = useRecipesStore()
  const runs = useRunsStore()

  const draft = reactive<RunDraft>(defaultRunDraft())
  const built = computed(() => buildRunSettings(draft))
  const settingsKey = computed(() => JSON.stringify(built.value.settings))

  const preflight = ref<RunPreflight | null>(null)
  const preflightKey = ref<string | null>(null)
  /** The server refused the settings outright (schema errors); shown in the form. */
  const preflightError = ref<string | null>(null)
  const checking = ref(false)
  const starting = ref(false)
  /** The report describes the settings as they are now; any edit makes it stale. */
  const preflightCurrent = computed(
    () => preflight.value !== null && preflightKey.value === settingsKey.value
  )
  const canStart = computed(() => preflightCurrent.value && preflight.value!.ok && !starting.value)

  const recipe = computed(() => recipes.byName.get(draft.recipe) ?? null)

  // --- Benchmarks during training: built-in tasks ----------------------------------------------

  const benchmarkTasks = ref<EvalTaskInfo[]>([])

  async function loadBenchmarkTasks(): Promise<void> {
    try {
      benchmarkTasks.value = await api.call('evaluations.tasks', {})
    } catch (error) {
      toasts.showError(error)
    }
  }

  function toggleBenchmarkTask(name: string, on: boolean): void {
    const known = benchmarkTasks.value.map((task) => task.name)
    draft.benchmarks.tasks = toggledInOrder(known, draft.benchmarks.tasks, name, on)
  }

  function toggleLoraTarget(target: string, on: boolean): void {
    draft.lora.targets = toggledInOrder(LORA_TARGETS, draft.lora.targets, target, on)
  }

  /** Chooses the recipe with its default parameters, or with `params` over them (a Recipes card's form). */
  function chooseRecipe(name: string, params: Readonly<Record<string, RecipeParamValue>> = {}): void {
    draft.recipe = name
    draft.recipeParams = paramsOf(name, params)
  }

  function paramsOf(
    recipeName: string,
    params: Readonly<Record<string, RecipeParamValue>> = {}
  ): Record<string, RecipeParamValue> {
    const chosen = recipes.byName.get(recipeName)
    return chosen ? { ...recipeDefaults(chosen), ...params } : { ...params }
  }

  // --- Pipeline: stages after the form's own ----------------------------------------------------

  function addStage(recipeName = 'grpo'): void {
    draft.stages.push({ ...defaultStageDraft(recipeName), recipeParams: paramsOf(recipeName) })
  }

  function removeStage(index: number): void {
    draft.stages.splice(index, 1)
  }

  function chooseStageRecipe(index: number, recipeName: string): void {
    const stage = draft.stages[index]
    stage.recipe = recipeName
    stage.recipeParams = paramsOf(recipeName)
  }

  // The recipe list may arrive after the form opened: fill in the default parameters then.
  watch(recipe, (chosen) => {
    if (chosen && Object.keys(draft.recipeParams).length === 0) draft.recipeParams = recipeDefaults(chosen)
  })

  async function checkPreflight(): Promise<void> {
    const { settings } = built.value
    if (!settings) return
    const key = settingsKey.value
    checking.value = true
    preflightError.value = null
    try {
      preflight.value = await api.call('runs.preflight', settings)
      preflightKey.value = key
    } catch (error) {
      preflight.value = null
      preflightKey.value = null
      preflightError.value = error instanceof Error ? error.message : String(error)
    } finally {
      checking.value = false
    }
  }

  /** Starts the checked settings; the new run (status queued) or null when refused (toast). */
  async function start(): Promise<RunSummary | null> {
    const { settings } = built.value
    if (!settings || !canStart.value) return null
    starting.value = true
    try {
      const run = await api.call('runs.start', settings)
      runs.replace(run)
      preflight.value = null
      preflightKey.value = null
      draft.name = ''
      return run
    } catch (error) {
      toasts.showError(error)
      return null
    } finally {
      starting.value = false
    }
  }

  // --- Data: a dataset, then one of its frozen versions ------------------------------------------

  const versions = ref<DatasetVersionSummary[]>([])

  /** Lists the dataset's versions and picks the newest (or the one asked for). */
  async function chooseDataset(datasetId: number | null, versionId: number | null = null): Promise<void> {
    draft.datasetId = datasetId
    draft.datasetVersionId = null
    versions.value = []
    if (datasetId === null) return
    try {
      const listed = await api.call('datasets.versions', { id: datasetId })
      if (draft.datasetId !== datasetId) return
      versions.value = listed
      draft.datasetVersionId = listed.find((version) => version.id === versionId)?.id ?? listed[0]?.id ?? null
    } catch (error) {
      toasts.showError(error)
    }
  }

  // --- Base model: a registered one, or a folder validated and registered from here -----------

  const folderValidation = ref<ModelValidation | null>(null)
  const validating = ref(false)
  /** A folder being registered from this form: chosen as the base model once it is listed. */
  const awaitedModelPath = ref<string | null>(null)

  async function validateFolder(path: string): Promise<ModelValidation | null> {
    validating.value = true
    folderValidation.value = null
    try {
      folderValidation.value = await api.call('models.validate', { path: path.trim() })
      return folderValidation.value
    } catch (error) {
      toasts.showError(error)
      return null
    } finally {
      validating.value = false
    }
  }

  /** Chooses the registered model in that folder, registering it first when it is not listed. */
  async function chooseModelFolder(path: string): Promise<void> {
    const known = models.models.find((model) => samePath(model.path, path))
    if (known) {
      draft.baseModelId = known.id
      return
    }
    if (await models.register(path.trim())) awaitedModelPath.value = path
  }

  watch(
    () => models.models,
    (listed) => {
      const awaited = awaitedModelPath.value
      if (awaited === null) return
      const model = listed.find((candidate) => samePath(candidate.path, awaited))
      if (!model) return
      draft.baseModelId = model.id
      awaitedModelPath.value = null
    }
  )
  // A registration that ended without listing the folder failed (the models store shows why): stop
  // waiting. The list is fetched here since the store refreshes it only after the job is gone.
  watch(
    () => models.registrations.length,
    async (pending) => {
      if (pending > 0 || awaitedModelPath.value === null) return
      await models.load()
      const awaited = awaitedModelPath.value
      if (awaited !== null && !models.models.some((model) => samePath(model.path, awaited))) {
        awaitedModelPath.value = null
      }
    }
  )

  function reset(): void {
    Object.assign(draft, defaultRunDraft())
    if (recipe.value) draft.recipeParams = recipeDefaults(recipe.value)
    preflight.value = null
    preflightKey.value = null
    preflightError.value = null
  }

  return {
    draft,
    built,
    recipe,
    preflight,
    preflightError,
    preflightCurrent,
    checking,
    starting,
    canStart,
    folderValidation,
    validating,
    awaitedModelPath,
    versions,
    benchmarkTasks,
    loadBenchmarkTasks,
    toggleBenchmarkTask,
    toggleLoraTarget,
    chooseRecipe,
    addStage,
    removeStage,
    chooseStageRecipe,
    chooseDataset,
    checkPreflight,
    start,
    validateFolder,
    chooseModelFolder,
    reset
  }
})
