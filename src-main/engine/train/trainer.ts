/**
 * The trainer loop: data → batches → optimizer steps of a compiled StepProgram, with progress
 * events, checkpoints, exact resume, a cooperative stop and the export of what was trained.
 *
 * One optimizer step takes `gradAccum` micro-batches from the stream (fewer at the end of an
 * epoch: a step never spans two epochs, as in transformers' Trainer), its learning rate from the
 * schedule at the 0-based index of the update, and runs `program.step` once. Steps are counted
 * from 1; the checkpoint after step N is `checkpoints/step-N`. A recipe may train each step's
 * micro-batches for several consecutive steps (grpo's μ, update-cycle.ts): each is a step here,
 * and checkpoints and a stop then fall between those cycles.
 *
 * Exact resume. Everything a step depends on is either in the checkpoint (trainable tensors,
 * optimizer state, data cursor, step number, the recipe's run state) or a pure function of the
 * seed and those (data order and data transforms per epoch, learning rate per step), so a run
 * resumed from step N feeds the program exactly what the uninterrupted run fed it at steps N+1…,
 * and on CPU gets the same bits. The
 * settings that decide those inputs are hashed into the checkpoint; a resume that changes one is
 * refused, naming it.
 *
 * Failure. A non-finite loss or gradient norm stops the run at that step with an error naming it;
 * the weights are poisoned by then, so nothing more is saved and the last checkpoint written
 * stays the last good one. A checkpoint is also refused whenever the state holds a non-finite
 * value.
 *
 * The configuration and its checks live in train-config.ts, the resume key in resume-key.ts. This
 * module imports nothing from electron, the store, the API or the recipes (the caller passes the
 * recipe registry in): it runs in a job worker or in the CLI's process alike.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { readModelConfig } from '../checkpoint/hf-config'
import { lossChunksFor } from './chunked-loss'
import { Rng } from '../rng'
import { loadTokenizer, type TextTokenizer } from '../tokenizer/tokenizer'
import { collateRows, type TrainingBatch } from './batches'
import {
  checkpointDir,
  findNonFinite,
  importCheckpoint,
  readCheckpoint,
  removeStaleRunTemporaries,
  writeCheckpoint,
  CHECKPOINT_FORMAT,
  type EvalRecord,
  type StepRecord,
  type TrainerState
} from './checkpoints'
import { createStepProgram } from './compile-step'
import { readTrainingData, type DroppedRow, type TrainingExample } from './data'
import { EpochBatchStream } from './epoch-data'
import type { RecipeResolver, ResolvedRecipe } from './loss-hook'
import { appendMetricsLine, startMetricsFile } from './metrics-file'
import { checkResumeKey, configHash, resumeKey } from './resume-key'
import { appendRolloutStep, rolloutsPath, rolloutStepRecord, startRolloutLog } from './rollout-log'
import { RecipeRun, rolloutMetrics } from './recipe-run'
import type { RolloutSetting } from './recipe-run'
import { checkTemplateDrops, readRunData } from './run-data'
import type { RecipeState } from './run-hooks'
import { learningRateAt, type LrSchedule } from './schedule'
import { perSampleReport, type PerSampleReport, type StepProgram, type StepProgramSpec } from './step-program'
import { checkSeqLenFits, checkTrainConfig, type TrainConfig } from './train-config'
import { exportTrained, type ExportedFolder } from './trained-export'
import { UpdateCycle, updatesPerBatch, type CycleBatch } from './update-cycle'

export type { EvalRecord, StepRecord } from './checkpoints'
export type { ExportedFolder } from './trained-export'

/** Progress of one optimizer step, as the `step` event carries it. */
export interface TrainProgress extends StepRecord {
  totalSteps: number
  /** The epoch the step's data came from (0-based). */
  epoch: number
  /** Training time so far, over all sessions of the run. */
  elapsedSeconds: number
  /** Remaining steps at this session's mean step time. */
  etaSeconds: number
}

export type TrainEvent =
  | {
      type: 'start'
      startStep: number
      totalSteps: number
      examples: number
      rows: number
      truncated: number
      dropped: DroppedRow[]
      evalExamples: number
      trainableTensors: number
      resumedFrom: string | null
      /** The stage (1-based) this start opens, in a pipeline (pipeline.ts); absent for a single run. */
      stage?: number
    }
  | ({ type: 'step'; perSample?: PerSampleReport } & TrainProgress)
  | ({ type: 'eval' } & EvalRecord)
  | { type: 'checkpoint'; step: number; dir: string }

export interface TrainerOptions {
  /** The recipe registry (recipes/index.ts): turns the configured recipe into its loss hook. */
  resolveRecipe: RecipeResolver
  /** Compiles the step program; default the step-graph compiler (tests may pass a fake). */
  createProgram?: (spec: StepProgramSpec) => Promise<StepProgram>
  /** Called for every event, in order; the loop waits for a returned promise (a pause). */
  onEvent?: (event: TrainEvent) => void | Promise<void>
  /** Cooperative stop: checked between optimizer steps; the run saves a checkpoint and ends. */
  signal?: AbortSignal
}

export interface TrainResult {
  status: 'completed' | 'stopped'
  step: number
  totalSteps: number
  lastCheckpoint: string | null
  /** The adapter (LoRA) or model folder (full) in outDir; null when stopped. */
  exported: (ExportedFolder & { kind: 'lora' | 'full' }) | null
  /** `<out>/merged` when mergeLora. */
  merged: ExportedFolder | null
  logHistory: StepRecord[]
  evalHistory: EvalRecord[]
}

/** A non-finite loss, gradient norm or weight: the run cannot go on from here. */
export class TrainingDivergedError extends Error {
  constructor(
    readonly step: number,
    readonly reason: string,
    readonly lastCheckpoint: string | null
  ) {
    super(
      `train: step ${step}: ${reason}; training stopped. ` +
        (lastCheckpoint
          ? `The last good checkpoint is ${lastCheckpoint}`
          : 'No checkpoint had been saved before it') +
        ' (try a lower --lr or --max-grad-norm)'
    )
    this.name = 'TrainingDivergedError'
  }
}

/** Trains as `config` says; see the module comment. */
export async function train(config: TrainConfig, options: TrainerOptions): Promise<TrainResult> {
  checkTrainConfig(config)
  removeStaleRunTemporaries(config.outDir)
  const emit = async (event: TrainEvent) => {
    await options.onEvent?.(event)
  }
  const model = readModelConfig(config.modelDir)
  checkSeqLenFits(config.maxSeqLen, model, config.modelDir)
  const tokenizer = existsSync(join(config.modelDir, 'tokenizer.json'))
    ? loadTokenizer(config.modelDir)
    : null
  const recipe = options.resolveRecipe(config.recipe.name, config.recipe.params)
  const resumed = config.resumeFrom ? readCheckpoint(config.resumeFrom) : null
  const { epochData, batchOptions, totalSteps, recipeState } = await readRunData(
    config,
    recipe,
    tokenizer,
    model,
    resumed?.state.recipeState
  )
  const data = epochData.epoch(0)
  checkTemplateDrops(data, config)
  if (data.examples.length === 0) {
    throw new Error(`train: ${config.dataFile} has no usable training examples (${data.rowCount} rows read)`)
  }
  const evalExamples = config.evalDataFile
    ? readEvalExamples(config.evalDataFile, tokenizer, config.maxSeqLen)
    : []
  const key = resumeKey(config, totalSteps)
  if (resumed) {
    checkResumeKey(resumed.state.resumeKey, key, resumed.dir, config.replanSchedule ? ['totalSteps'] : [])
  }
  // At exactly the last step, the run was saved and then ended before its export: it only exports.
  if (resumed && resumed.state.step > totalSteps) {
    throw new Error(
      `train: ${resumed.dir} is at step ${resumed.state.step}, the run has ${totalSteps} steps: nothing left to train`
    )
  }

  const createProgram = options.createProgram ?? createStepProgram
  const program = await createProgram({
    modelDir: config.modelDir,
    adapter: config.adapter,
    optimizer: config.optimizer,
    recipe,
    device: config.device,
    cacheDir: config.cacheDir,
    seed: config.seed,
    packed: config.packing,
    memory: {
      basePrecision: config.basePrecision,
      recompute: config.recompute,
      lossChunks: lossChunksFor(model, config)
    }
  })
  let loop: TrainingLoop | undefined
  try {
    if (resumed) importCheckpoint(program, resumed.tensors, resumed.dir)
    loop = new TrainingLoop(config, program, emit, options.signal, {
      stream: new EpochBatchStream(epochData, batchOptions, resumed?.state.dataCursor),
      recipe,
      schedule: { kind: config.lrScheduler, baseLr: config.lr, warmupSteps: config.warmupSteps, totalSteps },
      key,
      evalExamples,
      padId: batchOptions.padId ?? 0,
      resumed: resumed?.state ?? null,
      recipeState,
      lastCheckpoint: resumed?.dir ?? null,
      rollouts: {
        modelDir: config.modelDir,
        model,
        tokenizer,
        device: config.device,
        cacheDir: config.cacheDir,
        seed: config.seed,
        maxSeqLen: config.maxSeqLen,
        padId: batchOptions.padId ?? 0
      }
    })
    await emit({
      type: 'start',
      startStep: resumed?.state.step ?? 0,
      totalSteps,
      examples: data.examples.length,
      rows: data.rowCount,
      truncated: data.truncatedCount,
      dropped: data.dropped,
      evalExamples: evalExamples.length,
      trainableTensors: program.trainableNames.length,
      resumedFrom: resumed?.dir ?? null
    })
    const status = await loop.run()
    const result: TrainResult = {
      status,
      step: loop.step,
      totalSteps,
      lastCheckpoint: loop.lastCheckpoint,
      exported: null,
      merged: null,
      logHistory: loop.logHistory,
      evalHistory: loop.evalHistory
    }
    if (status === 'completed') Object.assign(result, exportTrained(config, model, program))
    return result
  } finally {
    await loop?.release()
    await program.release()
  }
}

interface LoopSetup {
  stream: EpochBatchStream
  recipe: ResolvedRecipe
  schedule: LrSchedule
  key: Record<string, unknown>
  evalExamples: TrainingExample[]
  padId: number
  resumed: TrainerState | null
  /** The state a before-training stage chose (readRunData), which a fresh run starts from. */
  recipeState: RecipeState | undefined
  lastCheckpoint: string | null
  /** What a recipe that generates its rollouts in the loop needs (recipe-run.ts). */
  rollouts: RolloutSetting
}

class TrainingLoop {
  step: number
  lastCheckpoint: string | null
  readonly logHistory: StepRecord[]
  readonly evalHistory: EvalRecord[]
  private readonly startStep: number
  private readonly priorSeconds: number
  private readonly startedAt = performance.now()
  private lastSavedStep: number
  private readonly recipeRun: RecipeRun
  /** The batch of the steps in progress, when each trains for several updates (update-cycle.ts). */
  private readonly cycle: UpdateCycle
  /** A scheduled checkpoint passed while a batch's updates were under way: saved when they end. */
  private saveDue = false

  constructor(
    private readonly config: TrainConfig,
    private readonly program: StepProgram,
    private readonly emit: (event: TrainEvent) => Promise<void>,
    private readonly signal: AbortSignal | undefined,
    private readonly setup: LoopSetup
  ) {
    const resumed = setup.resumed
    this.step = resumed?.step ?? 0
    this.startStep = this.step
    this.lastSavedStep = resumed ? this.step : -1
    this.lastCheckpoint = setup.lastCheckpoint
    this.priorSeconds = resumed?.elapsedSeconds ?? 0
    this.logHistory = resumed ? [...resumed.logHistory] : []
    this.evalHistory = resumed ? [...resumed.evalHistory] : []
    this.recipeRun = new RecipeRun(
      setup.recipe,
      setup.stream,
      program,
      resumed?.recipeState,
      setup.recipeState,
      setup.rollouts
    )
    this.cycle = new UpdateCycle(updatesPerBatch(setup.recipe))
    if (config.metricsJsonl) startMetricsFile(config.metricsJsonl, this.logHistory)
  }

  /** Closes what the recipe's part of the loop opened (a rollout generator). */
  release(): Promise<void> {
    return this.recipeRun.release()
  }

  async run(): Promise<'completed' | 'stopped'> {
    const { totalSteps } = this.setup.schedule
    const evaluating = this.setup.evalExamples.length > 0
    if (this.recipeRun.generates) await startRolloutLog(rolloutsPath(this.config.outDir), this.step)
    if (evaluating && this.step === 0) await this.evaluate()
    while (this.step < totalSteps) {
      // A stop and a scheduled checkpoint wait for the end of a batch's updates (update-cycle.ts).
      if (this.signal?.aborted && this.cycle.atBoundary) {
        await this.save()
        return 'stopped'
      }
      await this.trainOneStep()
      const { saveEvery, benchmarkEvery, evalEvery } = this.config
      if (evaluating && evalEvery > 0 && this.step % evalEvery === 0) await this.evaluate()
      const onSchedule = (every: number) => every > 0 && this.step % every === 0
      this.saveDue ||= onSchedule(saveEvery) || onSchedule(benchmarkEvery)
      if (this.saveDue && this.cycle.atBoundary && this.step < totalSteps) {
        await this.save()
        this.saveDue = false
      }
    }
    if (evaluating && this.evalHistory.at(-1)?.step !== this.step) await this.evaluate()
    await this.save()
    return 'completed'
  }

  /** A step's micro-batches from the stream: as selected, or replaced by rollouts generated for step `stepNumber`. */
  private async takeBatch(stepNumber: number): Promise<CycleBatch> {
    const { stream } = this.setup
    const epoch = stream.cursor.epoch
    const microBatches: TrainingBatch[] = []
    // A step never spans two epochs: the epoch's last step may take fewer micro-batches.
    while (microBatches.length < this.config.gradAccum && stream.cursor.epoch === epoch) {
      microBatches.push(await this.recipeRun.selectRows(stream.next()))
    }
    if (!this.recipeRun.generates) return { epoch, microBatches, rollouts: null }
    const { batches, report } = await this.recipeRun.generateRollouts(epoch, stepNumber, microBatches)
    return { epoch, microBatches: batches, rollouts: report }
  }

  private async trainOneStep(): Promise<void> {
    const { schedule } = this.setup
    const stepNumber = this.step + 1
    const { batch, updates } = await this.cycle.next(() => this.takeBatch(stepNumber))
    const { epoch, microBatches } = batch
    // Rollouts are generated, reported and logged once, with the first update on them.
    const rollouts = updates[0].index === 1 ? batch.rollouts : null
    this.recipeRun.feedInputs(epoch, microBatches, updates)
    const lr = learningRateAt(schedule, this.step)
    const began = performance.now()
    const result = await this.program.step(microBatches, {
      lr,
      step: stepNumber,
      maxGradNorm: this.config.maxGradNorm
    })
    const seconds = (performance.now() - began) / 1000
    if (!Number.isFinite(result.loss)) {
      throw new TrainingDivergedError(stepNumber, `the loss is ${result.loss}`, this.lastCheckpoint)
    }
    if (!Number.isFinite(result.gradNorm)) {
      throw new TrainingDivergedError(
        stepNumber,
        `the gradient norm is ${result.gradNorm}`,
        this.lastCheckpoint
      )
    }
    this.step = stepNumber
    this.cycle.finish(batch, result)
    // The recipe state follows the rollouts too (grpo's entropy-targeted temperature).
    const metrics = {
      ...result.metrics,
      ...(rollouts ? rolloutMetrics(rollouts) : {}),
      ...(this.cycle.updates > 1 ? { iteration: updates[0].index } : {})
    }
    const reported = { ...result, metrics }
    this.recipeRun.update(this.step, epoch, reported, microBatches)
    const tokens = microBatches.reduce((n, micro) => n + micro.tokenCount, 0)
    const record: StepRecord = {
      step: stepNumber,
      loss: result.loss,
      lr,
      gradNorm: result.gradNorm,
      tokens,
      trainedTokens: result.tokens,
      tokensPerSecond: seconds > 0 ? tokens / seconds : 0,
      metrics: reported.metrics
    }
    this.logHistory.push(record)
    if (this.config.metricsJsonl) appendMetricsLine(this.config.metricsJsonl, record)
    const perSample = perSampleReport(result, microBatches)
    if (rollouts) {
      const advantages = perSample.perSample?.values.advantage
      appendRolloutStep(
        rolloutsPath(this.config.outDir),
        rolloutStepRecord(stepNumber, rollouts.groups, advantages)
      )
    }
    const sessionSeconds = (performance.now() - this.startedAt) / 1000
    const done = this.step - this.startStep
    await this.emit({
      type: 'step',
      ...record,
      totalSteps: schedule.totalSteps,
      epoch,
      elapsedSeconds: this.priorSeconds + sessionSeconds,
      etaSeconds: (sessionSeconds / done) * (schedule.totalSteps - this.step),
      ...perSample
    })
  }

  /** Mean NLL per labelled token over the held-out examples, in file order. */
  private async evaluate(): Promise<void> {
    const { evalExamples, padId } = this.setup
    let weighted = 0
    let tokens = 0
    for (let start = 0; start < evalExamples.length; start += this.config.batchSize) {
      const rows = []
      for (let i = start; i < Math.min(start + this.config.batchSize, evalExamples.length); i++)
        rows.push([i])
      const result = await this.program.evaluate(collateRows(rows, evalExamples, { padId }))
      weighted += result.loss * result.tokens
      tokens += result.tokens
    }
    const record: EvalRecord = { step: this.step, loss: tokens > 0 ? weighted / tokens : Number.NaN, tokens }
    this.evalHistory.push(record)
    await this.emit({ type: 'eval', ...record })
  }

  private async save(): Promise<void> {
    if (this.step === 0 || this.step === this.lastSavedStep) return
    const tensors = this.program.exportState()
    const bad = findNonFinite(tensors)
    if (bad) {
      throw new TrainingDivergedError(
        this.step,
        `tensor "${bad.name}" holds ${bad.value} after the update`,
        this.lastCheckpoint
      )
    }
    const { stream, schedule, key } = this.setup
    const cursor = stream.cursor
    const state: TrainerState = {
      format: CHECKPOINT_FORMAT,
      step: this.step,
      totalSteps: schedule.totalSteps,
      dataCursor: cursor,
      schedule: {
        kind: schedule.kind,
        baseLr: schedule.baseLr,
        warmupSteps: schedule.warmupSteps,
        totalSteps: schedule.totalSteps,
        nextIndex: this.step
      },
      rng: {
        seed: this.config.seed,
        epoch: cursor.epoch,
        dataOrder: Rng.fromSeed(this.config.seed, cursor.epoch).state()
      },
      configHash: configHash(key),
      resumeKey: key,
      elapsedSeconds: this.priorSeconds + (performance.now() - this.startedAt) / 1000,
      trainableNames: [...this.program.trainableNames],
      logHistory: this.logHistory,
      evalHistory: this.evalHistory,
      recipeState: this.recipeRun.state
    }
    const dir = checkpointDir(this.config.outDir, this.step)
    writeCheckpoint(dir, tensors, state, this.config)
    this.lastSavedStep = this.step
    this.lastCheckpoint = dir
    await this.emit({ type: 'checkpoint', step: this.step, dir })
  }
}

function readEvalExamples(
  file: string,
  tokenizer: TextTokenizer | null,
  maxSeqLen: number
): TrainingExample[] {
  const data = readTrainingData(file, { tokenizer, maxSeqLen })
  if (data.examples.length === 0) throw new Error(`train: ${file} (--eval-data) has no usable examples`)
  return data.examples
}
