/**
 * Runs the training graphs compile-step.ts builds. One `step` is one session run per micro-batch
 * (forward, the recipe's loss, gradients, and — on the last micro-batch — clipping and the
 * optimizer update).
 *
 * Trainable tensors and optimizer state are Float32Arrays here, fed each step and updated in place
 * (onnxruntime writes the graph's updated outputs into the buffers they were fed from); frozen
 * weights never cross the JS boundary.
 *
 * Gradient accumulation (optimizers.ts): micro-batches 1…n−1 run the `micro` graph, which adds
 * their gradients to running sums; micro-batch n runs `step-accumulate`, which adds its own,
 * clips and updates. Every micro-batch's loss is normalised by the whole step's totals, so the
 * step's loss and metrics are the SUMS of the micro-batches' values.
 */
import { recordCacheUse } from '../cache'
import type { LoraConfig } from '../checkpoint/peft'
import { createSession, hostTensor, type EngineSession, type HostTensor } from '../runtime/session'
import { IGNORE_INDEX } from '../tokenizer/labels'
import type { TrainingBatch } from './batches'
import { DROPOUT_SEED_INPUT, dropoutStepSeed } from './dropout'
import { LOSS_INPUT_NAMES, recipeInputName } from './loss-context'
import { STEP_SCALAR_INPUTS } from './optimizers'
import {
  gradSumInputName,
  gradSumOutputName,
  metricOutputName,
  perSampleOutputName,
  statisticOutputName,
  paramInputName,
  paramOutputName,
  stateInputName,
  stateOutputName,
  STEP_GRAPH_NAMES,
  type StepGraphKind
} from './step-graph'
import type { CandidateStatistic } from './run-hooks'
import type {
  EvalResult,
  StepProgram,
  StepProgramSpec,
  StepResult,
  StepScalarValues,
  TrainableState
} from './step-program'

export interface CompiledGraphInfo {
  kind: StepGraphKind
  path: string
  /** True when the file was already in the cache and nothing was built. */
  fromCache: boolean
}

/** A StepProgram plus what the compiler knows beyond the seam. */
export interface CompiledStepProgram extends StepProgram {
  /** LoRA: the effective adapter config (an init adapter's r, alpha and targets win); else null. */
  readonly loraConfig: LoraConfig | null
  /** The graphs loaded so far (the step graph at creation, the others when first needed). */
  readonly graphs: readonly CompiledGraphInfo[]
}

/** Name of optimizer state `state` of trainable `name` in TrainableState.optimizer. */
export function optimizerStateKey(name: string, state: string): string {
  return `${name}.${state}`
}

/**
 * One tensor the program keeps between runs (a trainable or an optimizer state tensor): fed as
 * `input` from `current`, and its new value, the step graph's `output`, written by onnxruntime
 * straight back into `current` — step-graph.ts proves each such input is fully read before its
 * update is written — so a step neither allocates nor copies the weights or optimizer state.
 */
interface StateSlot {
  /** The key in TrainableState (the trainable's name, or optimizerStateKey). */
  key: string
  input: string
  output: string
  shape: number[]
  current: Float32Array
}

export class GraphStepProgram implements CompiledStepProgram {
  readonly graphs: CompiledGraphInfo[] = []
  private readonly params: StateSlot[] = []
  private readonly optimizerState: StateSlot[] = []
  /** Gradient sums of accumulation: zeros for the first micro-batch, then two alternating buffers. */
  private sumBuffers: { zeros: Float32Array[]; flip: Float32Array[]; flop: Float32Array[] } | null = null
  private readonly sessions = new Map<StepGraphKind, Promise<EngineSession>>()
  private busy = false
  private released = false

  constructor(
    readonly spec: StepProgramSpec,
    readonly trainableNames: readonly string[],
    /** The graph of `kind`, built or found in the cache (compile-step.ts). */
    private readonly compile: (kind: StepGraphKind) => CompiledGraphInfo,
    /** The frozen weights' folder, kept counted as in use while the program runs. */
    private readonly weightsDir: string,
    readonly loraConfig: LoraConfig | null
  ) {}

  /** @internal Starting values: trainables as given, optimizer state zero. */
  setInitialState(
    tensors: readonly { name: string; shape: number[]; data: Float32Array }[],
    stateNames: readonly string[]
  ) {
    for (const { name, shape, data } of tensors) {
      this.params.push({
        key: name,
        input: paramInputName(name),
        output: paramOutputName(name),
        shape,
        current: data
      })
    }
    for (const { name, shape, data } of tensors) {
      for (const state of stateNames) {
        this.optimizerState.push({
          key: optimizerStateKey(name, state),
          input: stateInputName(state, name),
          output: stateOutputName(state, name),
          shape,
          current: new Float32Array(data.length)
        })
      }
    }
  }

  async step(microBatches: readonly TrainingBatch[], scalars: StepScalarValues): Promise<StepResult> {
    if (microBatches.length === 0) throw new Error('StepProgram.step: no micro-batches')
    checkScalars(scalars)
    return this.exclusive('step', async () => {
      // A run may outlast pruning's grace period for recently used entries (engine/cache.ts) and
      // still compiles graphs into the weights folder later (eval, accumulation): one utimes per
      // step keeps the folder counted as in use.
      recordCacheUse(this.weightsDir)
      const shared: Record<string, HostTensor> = {
        [LOSS_INPUT_NAMES.tokenTotal]: scalar32(sumOf(microBatches, (b) => b.lossWeightTotal)),
        [LOSS_INPUT_NAMES.sampleTotal]: scalar32(
          sumOf(microBatches, (b) => sumOf(b.sampleWeights, (w) => w))
        ),
        [STEP_SCALAR_INPUTS.lr]: scalar64(scalars.lr),
        [STEP_SCALAR_INPUTS.step]: scalar64(scalars.step),
        [STEP_SCALAR_INPUTS.maxGradNorm]: scalar64(scalars.maxGradNorm),
        ...slotFeeds(this.params)
      }
      const accumulating = microBatches.length > 1
      const result: StepResult = {
        loss: 0,
        gradNorm: 0,
        tokens: 0,
        metrics: {},
        tokenLogProbs: [],
        perSample: {}
      }
      for (let micro = 0; micro < microBatches.length; micro++) {
        const batch = microBatches[micro]
        const kind: StepGraphKind =
          micro < microBatches.length - 1 ? 'micro' : accumulating ? 'step-accumulate' : 'step'
        const feeds: Record<string, HostTensor> = {
          ...shared,
          ...this.batchFeeds(batch, `StepProgram.step: micro-batch ${micro}`),
          ...this.recipeInputFeeds(batch, `StepProgram.step: micro-batch ${micro}`),
          [DROPOUT_SEED_INPUT]: hostTensor(
            'int64',
            [],
            BigInt64Array.of(BigInt(dropoutStepSeed(this.spec.seed, scalars.step, micro)))
          )
        }
        const into: Record<string, HostTensor> = {}
        if (accumulating) this.accumulationFeeds(micro, kind === 'micro', feeds, into)
        if (kind !== 'micro') {
          Object.assign(feeds, slotFeeds(this.optimizerState))
          for (const slot of [...this.params, ...this.optimizerState]) into[slot.output] = feeds[slot.input]
        }
        const out = await this.run(kind, feeds, into)
        result.loss += scalarOf(out, STEP_GRAPH_NAMES.loss)
        result.tokens += trainedTokens(batch)
        result.tokenLogProbs!.push(labelAligned(out[STEP_GRAPH_NAMES.tokenLogProbs], batch))
        for (const [name, value] of Object.entries(out)) {
          if (name.startsWith(METRIC_PREFIX)) {
            const metric = name.slice(METRIC_PREFIX.length)
            result.metrics[metric] = (result.metrics[metric] ?? 0) + Number(value.data[0])
          } else if (name.startsWith(PER_SAMPLE_PREFIX)) {
            const values = (result.perSample![name.slice(PER_SAMPLE_PREFIX.length)] ??= [])
            values.push(Float32Array.from(value.data as Float32Array))
          }
        }
        if (kind !== 'micro') result.gradNorm = scalarOf(out, STEP_GRAPH_NAMES.gradNorm)
      }
      return result
    })
  }

  async evaluate(batch: TrainingBatch): Promise<EvalResult> {
    return this.exclusive('evaluate', async () => {
      const out = await this.run('eval', {
        ...this.batchFeeds(batch, 'StepProgram.evaluate'),
        ...slotFeeds(this.params)
      })
      const nll = scalarOf(out, STEP_GRAPH_NAMES.nllSum)
      const tokens = scalarOf(out, STEP_GRAPH_NAMES.tokenCount)
      return {
        loss: tokens > 0 ? nll / tokens : 0,
        tokens,
        tokenLogProbs: labelAligned(out[STEP_GRAPH_NAMES.tokenLogProbs], batch)
      }
    })
  }

  async score(batch: TrainingBatch): Promise<Record<string, CandidateStatistic>> {
    return this.exclusive('score', async () => {
      const out = await this.run('score', {
        ...this.batchFeeds(batch, 'StepProgram.score'),
        [LOSS_INPUT_NAMES.tokenTotal]: scalar32(batch.lossWeightTotal),
        [LOSS_INPUT_NAMES.sampleTotal]: scalar32(sumOf(batch.sampleWeights, (w) => w)),
        ...slotFeeds(this.params)
      })
      const statistics: Record<string, CandidateStatistic> = {}
      for (const [name, value] of Object.entries(out)) {
        if (!name.startsWith(STATISTIC_PREFIX)) continue
        statistics[name.slice(STATISTIC_PREFIX.length)] = {
          shape: [...value.dims],
          data: Float32Array.from(value.data as Float32Array)
        }
      }
      return statistics
    })
  }

  /** Copies: the program updates its own buffers in place at every step. */
  exportState(): TrainableState {
    if (this.busy) throw new Error('StepProgram.exportState: a step is running')
    const copy = (slots: readonly StateSlot[]) =>
      new Map(slots.map((slot) => [slot.key, { shape: [...slot.shape], data: slot.current.slice() }]))
    return { params: copy(this.params), optimizer: copy(this.optimizerState) }
  }

  importState(state: TrainableState): void {
    if (this.busy) throw new Error('StepProgram.importState: a step is running')
    const params = matchingValues('params', state.params, this.params)
    const optimizer = matchingValues('optimizer', state.optimizer, this.optimizerState)
    this.params.forEach((slot, i) => slot.current.set(params[i]))
    this.optimizerState.forEach((slot, i) => slot.current.set(optimizer[i]))
  }

  async release(): Promise<void> {
    if (this.released) return
    this.released = true
    const sessions = await Promise.allSettled(this.sessions.values())
    for (const settled of sessions) if (settled.status === 'fulfilled') await settled.value.release()
    this.sessions.clear()
  }

  /** @internal The session of graph `kind`, compiling or loading the graph the first time. */
  session(kind: StepGraphKind): Promise<EngineSession> {
    if (this.released) return Promise.reject(new Error('StepProgram: already released'))
    let session = this.sessions.get(kind)
    if (!session) {
      const graph = this.compile(kind)
      this.graphs.push(graph)
      session = createSession(graph.path, { device: this.spec.device, memoryPattern: false })
      this.sessions.set(kind, session)
    }
    return session
  }

  private async run(
    kind: StepGraphKind,
    candidates: Record<string, HostTensor>,
    into?: Record<string, HostTensor>
  ): Promise<Record<string, HostTensor>> {
    const session = await this.session(kind)
    const feeds: Record<string, HostTensor> = {}
    for (const name of session.inputNames) {
      const value = candidates[name]
      if (!value) {
        throw new Error(`StepProgram: graph ${kind} wants input "${name}", which the program does not feed`)
      }
      feeds[name] = value
    }
    return session.run(feeds, undefined, into)
  }

  private async exclusive<T>(what: string, body: () => Promise<T>): Promise<T> {
    if (this.released) throw new Error(`StepProgram.${what}: the program was released`)
    if (this.busy) throw new Error(`StepProgram.${what}: another step or evaluation is still running`)
    this.busy = true
    try {
      return await body()
    } finally {
      this.busy = false
    }
  }

  private batchFeeds(batch: TrainingBatch, where: string): Record<string, HostTensor> {
    checkBatch(batch, where)
    const dims = [batch.rows, batch.columns]
    return {
      [STEP_GRAPH_NAMES.inputIds]: hostTensor('int64', dims, batch.inputIds),
      [STEP_GRAPH_NAMES.attentionMask]: hostTensor('int64', dims, batch.attentionMask),
      [STEP_GRAPH_NAMES.positionIds]: hostTensor('int64', dims, batch.positionIds),
      [STEP_GRAPH_NAMES.segmentIds]: hostTensor('int64', dims, batch.segmentIds),
      [LOSS_INPUT_NAMES.labels]: hostTensor('int64', dims, batch.labels),
      [LOSS_INPUT_NAMES.lossWeights]: hostTensor('float32', dims, batch.lossWeights),
      [LOSS_INPUT_NAMES.sampleWeights]: hostTensor('float32', [batch.rows], batch.sampleWeights)
    }
  }

  /** The recipe's declared extra inputs from the batch, checked against their declared shape and dtype. */
  private recipeInputFeeds(batch: TrainingBatch, where: string): Record<string, HostTensor> {
    const feeds: Record<string, HostTensor> = {}
    for (const input of this.spec.recipe.hook.inputs ?? []) {
      const value = batch.recipeInputs?.[input.name]
      const dims =
        input.per === 'token' ? [batch.rows, batch.columns] : input.per === 'sample' ? [batch.rows] : []
      const size = dims.reduce((n, d) => n * d, 1)
      const dtypeFits =
        input.dtype === 'int64' ? value instanceof BigInt64Array : value instanceof Float32Array
      if (!value || !dtypeFits || value.length !== size) {
        throw new Error(
          `${where}: recipe "${this.spec.recipe.hook.name}" needs the ${input.dtype} input "${input.name}" ` +
            `of ${size} values ([${dims.join(', ')}]), got ${value ? `${value.constructor.name}(${value.length})` : 'none'}`
        )
      }
      feeds[recipeInputName(input.name)] = hostTensor(input.dtype, dims, value)
    }
    return feeds
  }

  /**
   * Micro-batch `micro` reads the sums so far (zeros first) and, unless it is the last, writes the
   * new sums into the other buffer of the pair.
   */
  private accumulationFeeds(
    micro: number,
    writes: boolean,
    feeds: Record<string, HostTensor>,
    into: Record<string, HostTensor>
  ): void {
    const fresh = () => this.params.map((slot) => new Float32Array(slot.current.length))
    this.sumBuffers ??= { zeros: fresh(), flip: fresh(), flop: fresh() }
    const buffers = this.sumBuffers
    const read = micro === 0 ? buffers.zeros : micro % 2 === 1 ? buffers.flip : buffers.flop
    const write = micro % 2 === 0 ? buffers.flip : buffers.flop
    this.params.forEach((slot, i) => {
      feeds[gradSumInputName(slot.key)] = hostTensor('float32', slot.shape, read[i])
      if (writes) into[gradSumOutputName(slot.key)] = hostTensor('float32', slot.shape, write[i])
    })
  }
}

const METRIC_PREFIX = metricOutputName('')
const PER_SAMPLE_PREFIX = perSampleOutputName('')
const STATISTIC_PREFIX = statisticOutputName('')

function slotFeeds(slots: readonly StateSlot[]): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {}
  for (const slot of slots) feeds[slot.input] = hostTensor('float32', slot.shape, slot.current)
  return feeds
}

/** The values of `given` in the order of `slots`, checked against their names and shapes. */
function matchingValues(
  what: string,
  given: ReadonlyMap<string, { shape: number[]; data: Float32Array }>,
  slots: readonly StateSlot[]
): Float32Array[] {
  for (const name of given.keys()) {
    if (!slots.some((slot) => slot.key === name)) {
      throw new Error(`StepProgram.importState: ${what} has unknown tensor "${name}"`)
    }
  }
  return slots.map((slot) => {
    const value = given.get(slot.key)
    if (!value) throw new Error(`StepProgram.importState: ${what} has no tensor "${slot.key}"`)
    const sameShape =
      value.shape.length === slot.shape.length && value.shape.every((d, i) => d === slot.shape[i])
    if (!sameShape || value.data.length !== slot.current.length) {
      throw new Error(
        `StepProgram.importState: ${what} "${slot.key}" is [${value.shape.join(', ')}] with ` +
          `${value.data.length} values, expected [${slot.shape.join(', ')}]`
      )
    }
    return value.data
  })
}

function checkScalars({ lr, step, maxGradNorm }: StepScalarValues): void {
  if (!(Number.isFinite(lr) && lr >= 0))
    throw new Error(`StepProgram.step: lr must be a finite number ≥ 0, got ${lr}`)
  if (!(Number.isSafeInteger(step) && step >= 1)) {
    throw new Error(`StepProgram.step: step must be an integer ≥ 1, got ${step}`)
  }
  if (!(Number.isFinite(maxGradNorm) && maxGradNorm >= 0)) {
    throw new Error(`StepProgram.step: maxGradNorm must be a finite number ≥ 0 (0 = off), got ${maxGradNorm}`)
  }
}

function checkBatch(batch: TrainingBatch, where: string): void {
  const { rows, columns } = batch
  if (!(Number.isSafeInteger(rows) && rows >= 1 && Number.isSafeInteger(columns) && columns >= 1)) {
    throw new Error(`${where}: a batch needs at least one row and column, got ${rows} × ${columns}`)
  }
  const size = rows * columns
  for (const [name, array] of [
    ['inputIds', batch.inputIds],
    ['attentionMask', batch.attentionMask],
    ['labels', batch.labels],
    ['lossWeights', batch.lossWeights],
    ['positionIds', batch.positionIds],
    ['segmentIds', batch.segmentIds]
  ] as const) {
    if (array.length !== size) {
      throw new Error(
        `${where}: ${name} holds ${array.length} values, a ${rows} × ${columns} batch needs ${size}`
      )
    }
  }
  if (batch.sampleWeights.length !== rows) {
    throw new Error(`${where}: sampleWeights holds ${batch.sampleWeights.length} values, expected ${rows}`)
  }
}

/** Labelled tokens that are predicted (a label in column 0 has nothing to be predicted from). */
function trainedTokens(batch: TrainingBatch): number {
  let count = 0
  for (let i = 0; i < batch.labels.length; i++) {
    if (i % batch.columns !== 0 && batch.labels[i] !== BigInt(IGNORE_INDEX)) count++
  }
  return count
}

/**
 * The graph's log-probs are indexed by predicting position (t predicts t + 1); results are indexed
 * like the labels: entry t = log p(labels[t] | tokens < t), 0 where nothing is predicted.
 */
function labelAligned(predicting: HostTensor, batch: TrainingBatch): Float32Array {
  const source = predicting.data as Float32Array
  const aligned = new Float32Array(batch.rows * batch.columns)
  for (let b = 0; b < batch.rows; b++) {
    const row = b * batch.columns
    for (let t = 1; t < batch.columns; t++) aligned[row + t] = source[row + t - 1]
  }
  return aligned
}

function sumOf<T>(items: ArrayLike<T>, value: (item: T) => number): number {
  let total = 0
  for (let i = 0; i < items.length; i++) total += value(items[i])
  return total
}

function scalarOf(out: Record<string, HostTensor>, name: string): number {
  return Number(out[name].data[0])
}

function scalar32(value: number): HostTensor {
  return hostTensor('float32', [], Float32Array.of(value))
}

function scalar64(value: number): HostTensor {
  return hostTensor('float64', [], Float64Array.of(value))
}
