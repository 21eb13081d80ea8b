import { defineStore } from 'pinia'
import { computed, reactive, ref, watch } from 'vue'
import {
  DEFAULT_REVIEW_PROMPT,
  type EvalSettings,
  type EvalTaskInfo,
  type EvalTaskPreview
} from '../../../src-preload/contract'
import { useApi } from '../api'
import { findTaskFile, planTaskUpload } from '../components/evaluate/taskUpload'
import { jobProgressView, type JobProgressView } from '../composables/useJobProgress'
import { useEvaluationsStore } from './evaluations'
import { isJobFinished, useJobsStore } from './jobs'
import { targetInput, useTargetsStore, type TargetKey } from './targets'
import { useToastStore } from './toasts'

export const MAX_FEWSHOT = 64

/** The settings fields as they are edited ('' where a number field was cleared). */
export interface EvalDraft {
  limit: number | string
  numFewshot: number | string
  seed: number | string
  applyChatTemplate: boolean
  systemInstruction: string
  selfCorrection: boolean
  reviewPrompt: string
  device: 'cpu' | 'cuda'
  rerun: boolean
}

export function defaultEvalDraft(): EvalDraft {
  return {
    limit: '',
    numFewshot: '',
    seed: 1234,
    applyChatTemplate: false,
    systemInstruction: '',
    selfCorrection: false,
    reviewPrompt: DEFAULT_REVIEW_PROMPT,
    device: 'cpu',
    rerun: false
  }
}

/** A whole number field's value within [min, max]; null when cleared; undefined when not such a number. */
function wholeNumber(value: number | string, min: number, max: number): number | null | undefined {
  if (value === '') return null
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
    ? value
    : undefined
}

/** What evaluations.start is sent, or the first reason the fields cannot be, in words. */
export function buildEvalSettings(draft: EvalDraft): { settings: EvalSettings } | { problem: string } {
  const limit = wholeNumber(draft.limit, 1, 1_000_000)
  if (limit === undefined) return { problem: 'Limit: a whole number of documents, 1 or more (empty: all).' }
  const numFewshot = wholeNumber(draft.numFewshot, 0, MAX_FEWSHOT)
  if (numFewshot === undefined) {
    return { problem: `Few-shot examples: a whole number from 0 to ${MAX_FEWSHOT} (empty: the task's own).` }
  }
  const seed = wholeNumber(draft.seed, 0, Number.MAX_SAFE_INTEGER)
  if (seed === undefined || seed === null) return { problem: 'Seed: a whole number, 0 or more.' }
  const reviewPrompt = draft.reviewPrompt.trim()
  if (draft.selfCorrection && reviewPrompt === '')
    return { problem: 'Self-correction needs a review prompt.' }
  return {
    settings: {
      limit,
      numFewshot,
      applyChatTemplate: draft.applyChatTemplate,
      systemInstruction: draft.systemInstruction.trim() === '' ? null : draft.systemInstruction,
      seed,
      batchSize: null,
      selfCorrection: draft.selfCorrection ? { reviewPrompt } : null,
      device: draft.device
    }
  }
}

/** Seconds left at the pace so far; null before the first document is done. */
export function remainingSeconds(elapsedMs: number, done: number, total: number): number | null {
  if (done <= 0) return null
  if (done >= total) return 0
  return (elapsedMs / 1000 / done) * (total - done)
}

/** How a task is named to evaluations.start: a built-in by its name, an imported one by its file. */
export function taskRef(task: EvalTaskInfo): string {
  return task.builtin ? task.name : task.file
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

export interface Launch {
  /** In the order evaluations.start answered: targets × tasks. */
  evaluationIds: number[]
  /** Those already evaluated with the same task and settings, not run again. */
  reused: number[]
  /** The job that runs the others; null when every one was reused. */
  jobId: string | null
  startedAt: number
}

/**
 * The Evaluate tab: which targets on which tasks (built-in or imported task files), with what
 * settings; the first prompts of a task as the model will see them; the evaluation job with its
 * progress, ETA and cancel.
 */
export const useEvalLaunchStore = defineStore('evalLaunch', () => {
  const api = useApi()
  const toasts = useToastStore()
  const jobs = useJobsStore()
  const targets = useTargetsStore()
  const evaluations = useEvaluationsStore()

  const builtins = ref<EvalTaskInfo[]>([])
  const imported = ref<EvalTaskInfo[]>([])
  const tasksLoaded = ref(false)
  const chosenTargets = ref<TargetKey[]>([])
  /** Task refs (see taskRef). */
  const chosenTasks = ref<string[]>([])
  const draft = reactive(defaultEvalDraft())

  const previewTask = ref<string | null>(null)
  const preview = ref<EvalTaskPreview | null>(null)
  const previewError = ref<string | null>(null)
  const previewing = ref(false)

  const importPath = ref('')
  const importing = ref(false)
  const importError = ref<string | null>(null)

  const starting = ref(false)
  const launch = ref<Launch | null>(null)
  const etaSeconds = ref<number | null>(null)

  const taskOptions = computed(() => [...builtins.value, ...imported.value])

  function taskOf(ref: string): EvalTaskInfo | null {
    return taskOptions.value.find((task) => taskRef(task) === ref) ?? null
  }

  const built = computed(() => buildEvalSettings(draft))

  const problem = computed<string | null>(() => {
    if (chosenTargets.value.length === 0) return 'Choose a model or checkpoint to evaluate.'
    if (chosenTasks.value.length === 0) return 'Choose a task.'
    if ('problem' in built.value) return built.value.problem
    if (draft.selfCorrection) {
      const notGenerated = chosenTasks.value
        .map(taskOf)
        .filter((task): task is EvalTaskInfo => task !== null && task.outputType !== 'generate_until')
      if (notGenerated.length > 0) {
        const named = notGenerated.map((task) => `${task.name} (${task.outputType})`).join(', ')
        return `Self-correction reviews generated answers; ${named} generates none: choose generation tasks only.`
      }
    }
    return null
  })

  const job = computed(() => (launch.value?.jobId ? (jobs.byId[launch.value.jobId] ?? null) : null))
  /** From the reply until the job ends (its events may come after the reply). */
  const running = computed(
    () => launch.value?.jobId != null && (!job.value || !isJobFinished(job.value.status))
  )
  const progress = computed<JobProgressView | null>(() =>
    running.value && job.value ? jobProgressView(job.value) : null
  )
  const canStart = computed(() => problem.value === null && !starting.value && !running.value)

  watch(
    () => job.value?.progress?.done,
    (done) => {
      const total = job.value?.progress?.total ?? 0
      etaSeconds.value =
        done === undefined || !launch.value
          ? null
          : remainingSeconds(Date.now() - launch.value.startedAt, done, total)
    }
  )

  /** The base model whose chat template a preview renders with: the first chosen target's. */
  const chatModelId = computed(() => {
    for (const key of chosenTargets.value) {
      const id = targets.baseModelIdOf(key)
      if (id !== null) return id
    }
    return null
  })

  let previewRequest = 0
  async function loadPreview(): Promise<void> {
    const task = previewTask.value
    const request = ++previewRequest
    const numFewshot = wholeNumber(draft.numFewshot, 0, MAX_FEWSHOT)
    const chatModel = draft.applyChatTemplate ? chatModelId.value : null
    if (task === null) {
      preview.value = null
      previewError.value = null
      return
    }
    previewing.value = true
    try {
      const shown = await api.call('evaluations.inspectTask', {
        task,
        ...(typeof numFewshot === 'number' ? { numFewshot } : {}),
        applyChatTemplate: chatModel !== null,
        ...(chatModel !== null ? { baseModelId: chatModel } : {})
      })
      if (request !== previewRequest) return
      preview.value = shown
      previewError.value = null
    } catch (error) {
      if (request !== previewRequest) return
      preview.value = null
      previewError.value = messageOf(error)
    } finally {
      if (request === previewRequest) previewing.value = false
    }
  }
  watch(
    () => [previewTask.value, draft.numFewshot, draft.applyChatTemplate, chatModelId.value],
    () => void loadPreview()
  )

  async function load(): Promise<void> {
    try {
      builtins.value = await api.call('evaluations.tasks', {})
      tasksLoaded.value = true
    } catch (error) {
      toasts.showError(error)
    }
  }

  function toggleTarget(key: TargetKey): void {
    chosenTargets.value = chosenTargets.value.includes(key)
      ? chosenTargets.value.filter((chosen) => chosen !== key)
      : [...chosenTargets.value, key]
  }

  /** A task chosen is shown at once (its prompts); one left shows the last still chosen. */
  function toggleTask(ref: string): void {
    if (chosenTasks.value.includes(ref)) {
      chosenTasks.value = chosenTasks.value.filter((chosen) => chosen !== ref)
      if (previewTask.value === ref) previewTask.value = chosenTasks.value.at(-1) ?? null
    } else {
      chosenTasks.value = [...chosenTasks.value, ref]
      previewTask.value = ref
    }
  }

  function showPrompts(ref: string): void {
    previewTask.value = ref
  }

  /** Reads a task file (a path on the machine running the app), lists and chooses it. */
  async function importTask(path: string): Promise<boolean> {
    importing.value = true
    importError.value = null
    try {
      const task = await api.call('evaluations.inspectTask', { task: path })
      if (!task.builtin)
        imported.value = [...imported.value.filter((known) => known.file !== task.file), task]
      const ref = taskRef(task)
      if (!chosenTasks.value.includes(ref)) chosenTasks.value = [...chosenTasks.value, ref]
      previewTask.value = ref
      importPath.value = ''
      return true
    } catch (error) {
      importError.value = messageOf(error)
      return false
    } finally {
      importing.value = false
    }
  }

  /** The task file's path on the machine running the app: its own, or where its upload went. */
  async function pickedTaskPath(files: readonly File[]): Promise<string> {
    // The desktop app reads the picked files where they are, data files beside the task file.
    if (api.transport === 'ipc') return api.fileLocation((await findTaskFile(files)).file)
    const upload = await planTaskUpload(files)
    const uploaded = new Map<File, string>()
    for (const { file } of upload.dataFiles) {
      if (!uploaded.has(file)) uploaded.set(file, await api.fileLocation(file))
    }
    return api.fileLocation(new File([upload.pointedAt(uploaded)], upload.taskFile.name))
  }

  /** Imports a task file picked (with its data files, in a browser) from the user's machine. */
  async function importTaskFiles(files: readonly File[]): Promise<boolean> {
    if (files.length === 0) return false
    importing.value = true
    importError.value = null
    let path: string
    try {
      path = await pickedTaskPath(files)
    } catch (error) {
      importError.value = messageOf(error)
      importing.value = false
      return false
    }
    return importTask(path)
  }

  async function start(): Promise<void> {
    const settings = built.value
    if (!canStart.value || 'problem' in settings) return
    starting.value = true
    try {
      const result = await api.call('evaluations.start', {
        targets: chosenTargets.value.map((key) => targetInput(key)!),
        tasks: [...chosenTasks.value],
        settings: settings.settings,
        rerun: draft.rerun
      })
      evaluations.upsert(result.evaluations)
      etaSeconds.value = null
      launch.value = {
        evaluationIds: result.evaluations.map((evaluation) => evaluation.id),
        reused: result.reused,
        jobId: result.jobId,
        startedAt: Date.now()
      }
    } catch (error) {
      toasts.showError(error)
    } finally {
      starting.value = false
    }
  }

  async function cancel(): Promise<void> {
    const jobId = launch.value?.jobId
    if (!jobId || !running.value) return
    try {
      await api.call('jobs.cancel', { id: jobId })
    } catch (error) {
      toasts.showError(error)
    }
  }

  return {
    builtins,
    imported,
    tasksLoaded,
    chosenTargets,
    chosenTasks,
    draft,
    previewTask,
    preview,
    previewError,
    previewing,
    importPath,
    importing,
    importError,
    starting,
    launch,
    etaSeconds,
    taskOptions,
    problem,
    running,
    progress,
    canStart,
    load,
    taskOf,
    toggleTarget,
    toggleTask,
    showPrompts,
    importTask,
    importTaskFiles,
    start,
    cancel
  }
})
