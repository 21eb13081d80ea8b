/**
 * The training graphs of one model + adapter + optimizer + recipe, built on the graph DSL:
 *
 *   step             forward, loss (the recipe's hook), gradients, clipping, optimizer update
 *   step-accumulate  the same, adding the gradient sums of earlier micro-batches it is fed
 *   micro            forward, loss and gradients of one micro-batch, added to running sums
 *   eval             forward only: the plain NLL of the labelled tokens
 *
 * Frozen weights come from a ParamProvider (external-data initializers); trainable tensors,
 * optimizer state and gradient sums are graph inputs, their new values graph outputs (names
 * below). Every projection, trainable or not, is one Gemm over the flattened rows that reads the
 * [out, in] weight transposed in place, so neither a weight nor its gradient is ever transposed.
 * Gemm is the forward op here, not a rewrite: its gradient rule states Gemm's own maths. Written
 * as MatMul + Transpose and fused after autodiff instead, LoRA's scaling (Gemm's alpha) would move
 * in the backward pass from after the product to before it, changing the rounding of every step.
 * Transposed products that autodiff writes as MatMul become Gemms in fuseTransposesIntoGemm.
 */
import type { ModelConfig } from '../checkpoint/hf-config'
import type { LoraModule } from '../checkpoint/peft'
import {
  cast,
  concat,
  constantOfShape,
  equal,
  fuseTransposesIntoGemm,
  gemm,
  gradients,
  mul,
  neg,
  not,
  range,
  reduceSum,
  reshape,
  shape,
  stopGradient,
  isStaticShape,
  sameShape,
  type GraphBuilder,
  type GraphNode,
  type Tensor
} from '../graph/index'
import {
  decoderForward,
  paddedCausalBias,
  segmentCausalBias,
  type LinearHook,
  type ParamProvider
} from '../models/llama'
import type { FrozenParams } from '../models/weights'
import { IGNORE_INDEX } from '../tokenizer/labels'
import { declareDropoutSeed } from './dropout'
import { chunkedTargetLogProbs, vocabChunkedTargetLogProbs } from './chunked-loss'
import {
  buildLossContext,
  declareLossInputs,
  LOSS_INPUT_NAMES,
  PLAIN_NLL_DEMANDS,
  type LossSources
} from './loss-context'
import type { LossHook, RecipeParams } from './loss-hook'
import { addLoraPath } from './lora'
import type { StepMemoryOptions } from './step-program'
import {
  accumulateGradients,
  declareStepScalars,
  optimizerStateNames,
  optimizerStep,
  type OptimizerConfig
} from './optimizers'

export const STEP_GRAPH_KINDS = ['step', 'step-accumulate', 'micro', 'eval', 'score'] as const
export type StepGraphKind = (typeof STEP_GRAPH_KINDS)[number]

/** Names of the graphs' inputs and outputs besides the loss inputs (loss-context.ts) and step scalars. */
export const STEP_GRAPH_NAMES = {
  inputIds: 'input_ids',
  /** Right-padded batches. */
  attentionMask: 'attention_mask',
  /** Packed batches. */
  positionIds: 'position_ids',
  segmentIds: 'segment_ids',
  loss: 'loss',
  gradNorm: 'grad_norm',
  /** [B, S], entry t = log p(target of position t), 0 where position t predicts no target. */
  tokenLogProbs: 'token_logprobs',
  /** eval: Σ −log p over labelled tokens, and how many there are. */
  nllSum: 'nll_sum',
  tokenCount: 'token_count'
} as const

export const paramInputName = (name: string): string => `param:${name}`
export const paramOutputName = (name: string): string => `updated.param:${name}`
export const stateInputName = (state: string, name: string): string => `${state}:${name}`
export const stateOutputName = (state: string, name: string): string => `updated.${state}:${name}`
export const gradSumInputName = (name: string): string => `grad_sum:${name}`
export const gradSumOutputName = (name: string): string => `updated.grad_sum:${name}`
export const metricOutputName = (name: string): string => `metric:${name}`
export const perSampleOutputName = (name: string): string => `per_sample:${name}`
export const statisticOutputName = (name: string): string => `statistic:${name}`

export interface TrainableShape {
  name: string
  shape: readonly number[]
}

export type StepGraphAdapter =
  | {
      kind: 'lora'
      scaling: number
      dropout: number
      /** The adapted layers; their A/B are the trainables `peftTensorName(modulePath, 'A' | 'B')`. */
      modules: readonly (LoraModule & { a: string; b: string })[]
    }
  | { kind: 'full' }

export interface StepGraphSpec {
  config: ModelConfig
  recipe: LossHook
  recipeParams: RecipeParams
  optimizer: OptimizerConfig
  packed: boolean
  /** Graph inputs in this order. Full fine-tuning: HF names; every other weight is frozen. */
  trainables: readonly TrainableShape[]
  adapter: StepGraphAdapter
  /** Default: no recomputation, logits whole (the frozen weights' precision is the provider's). */
  memory?: Pick<StepMemoryOptions, 'recompute' | 'lossChunks'>
}

/**
 * Frozen weights; `rows` (when given) looks up embedding rows without decoding the whole matrix,
 * `decoded` and `rowBlock` say which matrices are decoded from a lower precision and decode rows of
 * one on their own (PreparedWeights.provider).
 */
export type FrozenProvider = ParamProvider & Partial<Pick<FrozenParams, 'rows' | 'decoded' | 'rowBlock'>>

/** Builds graph `kind` into `g`; frozen weights come from `frozen`. */
export function buildStepGraph(
  g: GraphBuilder,
  spec: StepGraphSpec,
  frozen: FrozenProvider,
  kind: StepGraphKind
): void {
  const batch = declareBatchInputs(g, spec.packed)
  const params = new Map(
    spec.trainables.map((t) => [t.name, g.input(paramInputName(t.name), 'float32', t.shape)])
  )
  const chunks = spec.memory?.lossChunks ?? 1
  if (kind === 'eval') {
    const model = forwardModel(spec, frozen, params, batch, { adapter: true, dropoutSeed: null })
    buildEvalOutputs(
      g,
      chunks > 1 ? { targetLogProbs: model.targetLogProbs(chunks) } : { logits: model.logits() }
    )
    return
  }
  if (kind === 'score') {
    buildScoreOutputs(
      g,
      spec,
      forwardModel(spec, frozen, params, batch, { adapter: true, dropoutSeed: null }).logits()
    )
    return
  }
  const lossInputs = declareLossInputs(g, spec.recipe)
  const dropout = spec.adapter.kind === 'lora' && spec.adapter.dropout > 0
  // One seed input serves dropout and the recipe's sampling; each salts it differently.
  const stepSeed = dropout || spec.recipe.needs.randomSeed ? declareDropoutSeed(g) : null
  const dropoutSeed = dropout ? stepSeed : null
  const model = forwardModel(spec, frozen, params, batch, { adapter: true, dropoutSeed })
  const { needs } = spec.recipe
  // The whole distribution (the model's or the base model's) cannot come in chunks of targets.
  const output =
    chunks > 1 && !needs.fullLogProbs && !needs.baseModelLogits
      ? { targetLogProbs: model.targetLogProbs(chunks) }
      : { logits: model.logits() }
  const baseLogits = needs.baseModelLogits
    ? stopGradient(forwardModel(spec, frozen, params, batch, { adapter: false, dropoutSeed: null }).logits())
    : undefined
  const ctx = buildLossContext(
    spec.recipe,
    { ...output, baseLogits, randomSeed: stepSeed, ...lossInputs },
    spec.recipeParams
  )
  const result = spec.recipe.loss(ctx)
  g.output(result.loss, STEP_GRAPH_NAMES.loss)
  g.output(mul(ctx.tokenLogProbs, ctx.labelMask), STEP_GRAPH_NAMES.tokenLogProbs)
  for (const [name, value] of Object.entries(result.metrics ?? {})) g.output(value, metricOutputName(name))
  for (const [name, value] of Object.entries(result.perSample ?? {})) {
    g.output(stopGradient(value), perSampleOutputName(name))
  }

  const wrt = spec.trainables.map((t) => params.get(t.name)!)
  const grads = gradients(result.loss, wrt)
  fuseTransposesIntoGemm(g)
  const sums = () => spec.trainables.map((t) => g.input(gradSumInputName(t.name), 'float32', t.shape))
  if (kind === 'micro') {
    accumulateGradients(sums(), grads).forEach((sum, i) =>
      g.output(sum, gradSumOutputName(spec.trainables[i].name))
    )
    return
  }
  const total = kind === 'step-accumulate' ? accumulateGradients(sums(), grads) : grads
  const scalars = declareStepScalars(g)
  const stateNames = optimizerStateNames(spec.optimizer)
  const tensors = spec.trainables.map((t, i) => ({
    param: wrt[i],
    grad: total[i],
    state: stateNames.map((state) => g.input(stateInputName(state, t.name), 'float32', t.shape))
  }))
  const { updates, gradNorm } = optimizerStep(spec.optimizer, tensors, scalars)
  g.output(gradNorm, STEP_GRAPH_NAMES.gradNorm)
  const updated: { input: Tensor; output: Tensor }[] = []
  updates.forEach((update, i) => {
    const name = spec.trainables[i].name
    updated.push({ input: wrt[i], output: g.output(update.param, paramOutputName(name)) })
    update.state.forEach((value, s) => {
      const output = g.output(value, stateOutputName(stateNames[s], name))
      updated.push({ input: tensors[i].state[s], output })
    })
  })
  assertUpdatesMayOverwriteInputs(g, updated, gradNorm)
}

/**
 * The program runs step graphs with every updated tensor written into the buffer its input was
 * fed from (no second copy of the weights and optimizer state). That is sound only if each input
 * is read completely before its update is written: every node reading the input must come before
 * the node producing the update (for an elementwise node that is the producer itself, the input
 * must be its first operand and the shapes equal: onnxruntime's elementwise kernels support
 * computing in place that way). The global gradient norm makes this hold for the weights — every
 * update is scaled by the clipping factor, which depends on every gradient and therefore on every
 * read of every weight — and the update chains make it hold for the state. This proves it on the
 * built graph, and refuses to compile one for which it does not hold.
 */
export function assertUpdatesMayOverwriteInputs(
  g: GraphBuilder,
  updated: readonly { input: Tensor; output: Tensor }[],
  barrier: Tensor
): void {
  const consumers = new Map<number, GraphNode[]>()
  for (const node of g.nodes) {
    for (const input of node.inputs) {
      if (!input) continue
      const list = consumers.get(input.id)
      if (list) list.push(node)
      else consumers.set(input.id, [node])
    }
  }
  const beforeBarrier = ancestorNodes(barrier)
  const afterBarrier = descendantNodes(barrier.producer!, consumers)
  for (const { input, output } of updated) {
    const writer = output.producer
    if (!writer) throw new Error(`step graph: update ${output.name} is not computed by a node`)
    for (const reader of consumers.get(input.id) ?? []) {
      const ordered =
        (beforeBarrier.has(reader) && afterBarrier.has(writer)) ||
        (reader !== writer && descendantNodes(reader, consumers, writer).has(writer)) ||
        (reader === writer && elementwiseInPlace(writer, input))
      if (!ordered) {
        throw new Error(
          `step graph: ${reader.name} (${reader.opType}) reads ${input.name} but is not ordered before ` +
            `${writer.name}, which writes its update ${output.name} into the same buffer`
        )
      }
    }
  }
}

const IN_PLACE_ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div'])

function elementwiseInPlace(node: GraphNode, input: Tensor): boolean {
  const output = node.outputs[0]
  return (
    IN_PLACE_ELEMENTWISE.has(node.opType) &&
    node.inputs[0] === input &&
    node.inputs.indexOf(input, 1) === -1 &&
    isStaticShape(input.shape) &&
    isStaticShape(output.shape) &&
    sameShape(input.shape, output.shape)
  )
}

function ancestorNodes(value: Tensor): Set<GraphNode> {
  const seen = new Set<GraphNode>()
  const stack = value.producer ? [value.producer] : []
  while (stack.length > 0) {
    const node = stack.pop()!
    if (seen.has(node)) continue
    seen.add(node)
    for (const input of node.inputs)
      if (input?.producer && !seen.has(input.producer)) stack.push(input.producer)
  }
  return seen
}

/** Nodes reachable downstream of `start` (itself included); stops early once `target` is found. */
function descendantNodes(
  start: GraphNode,
  consumers: ReadonlyMap<number, readonly GraphNode[]>,
  target?: GraphNode
): Set<GraphNode> {
  const seen = new Set<GraphNode>()
  const stack = [start]
  while (stack.length > 0) {
    const node = stack.pop()!
    if (seen.has(node)) continue
    seen.add(node)
    if (node === target) break
    for (const output of node.outputs) for (const next of consumers.get(output.id) ?? []) stack.push(next)
  }
  return seen
}

interface BatchInputs {
  inputIds: Tensor
  positions: Tensor
  attentionBias: Tensor
}

/**
 * The batch inputs. Positions and the attention bias are relabelled with the symbolic dims
 * 'batch' and 'seq' (a Reshape to their own shape costs nothing at run time): the scores of every
 * layer then provably have the shape [batch, K, n, seq, seq], which lets autodiff decide at build
 * time which gradients need summing over broadcast axes instead of emitting run-time shape logic.
 */
function declareBatchInputs(g: GraphBuilder, packed: boolean): BatchInputs {
  const inputIds = g.input(STEP_GRAPH_NAMES.inputIds, 'int64', ['batch', 'seq'])
  const batchDim = shape(inputIds, 0, 1) // [B]
  const seqDim = shape(inputIds, 1, 2) // [S]
  const biasShape = concat([batchDim, g.int64s([1, 1]), seqDim, seqDim], 0)
  const asBias = (bias: Tensor) => reshape(bias, biasShape, ['batch', 1, 1, 'seq', 'seq']) // (B, 1, 1, S, S)
  if (packed) {
    const positions = g.input(STEP_GRAPH_NAMES.positionIds, 'int64', ['batch', 'seq'])
    const segmentIds = g.input(STEP_GRAPH_NAMES.segmentIds, 'int64', ['batch', 'seq'])
    return { inputIds, positions, attentionBias: asBias(segmentCausalBias(segmentIds)) }
  }
  const attentionMask = g.input(STEP_GRAPH_NAMES.attentionMask, 'int64', ['batch', 'seq'])
  // 0…S−1 on every row, as transformers' training forward of a right-padded batch
  const positions = reshape(range(0, reshape(seqDim, []), 1, 'int64'), seqDim, ['seq']) // (S)
  return { inputIds, positions, attentionBias: asBias(paddedCausalBias(attentionMask)) }
}

interface ForwardOptions {
  /** false: the frozen base model (LoRA switched off; full fine-tuning: the original weights). */
  adapter: boolean
  dropoutSeed: Tensor | null
}

/** The trained model (or the frozen base model) up to its final hidden states, and its LM head. */
interface ModelForward {
  /** Logits [B, S, V]. */
  logits(): Tensor
  /** log p(target) [B, S] for int64 targets [B, S], the LM head run over `chunks` chunks of tokens. */
  targetLogProbs(chunks: number): (targets: Tensor) => Tensor
}

function forwardModel(
  spec: StepGraphSpec,
  frozen: FrozenProvider,
  params: ReadonlyMap<string, Tensor>,
  batch: BatchInputs,
  options: ForwardOptions
): ModelForward {
  const { config, adapter } = spec
  const trainedParams = options.adapter && adapter.kind === 'full'
  const param: ParamProvider = (name, shape, near) =>
    (trainedParams ? params.get(name) : undefined) ?? frozen(name, shape, near)
  const rows = new RowLayout(batch.inputIds)
  const lora =
    options.adapter && adapter.kind === 'lora' ? loraPaths(adapter, params, options.dropoutSeed) : null
  const linear: LinearHook = (name, x, weight, bias) => {
    const flat = rows.flatten(x)
    const dense = gemm(flat, weight, bias, { transB: true }) // (N, out)
    const path = lora?.get(name)
    return rows.unflatten(path ? addLoraPath(flat, dense, path) : dense)
  }
  const embedding = 'model.embed_tokens.weight'
  const embedShape = [config.vocabSize, config.hiddenSize]
  const frozenEmbedding = !(trainedParams && params.has(embedding)) && frozen.rows
  const embedRows = frozenEmbedding ? (ids: Tensor) => frozen.rows!(embedding, embedShape, ids) : undefined
  const checkpointLayers = spec.memory?.recompute ?? false
  const { hidden } = decoderForward(config, { param, linear, embedRows, checkpointLayers }, batch)
  const headName = config.tieWordEmbeddings ? embedding : 'lm_head.weight'
  const head = (near: Tensor) => param(headName, embedShape, near)
  const hiddenRows = rows.flatten(hidden) // (N, E)
  const { rowBlock, rows: frozenRows } = frozen
  // A head decoded from a lower precision is cut by vocabulary, so it is never decoded whole.
  const decodedHead =
    !(trainedParams && params.has(headName)) && frozen.decoded?.(headName) && rowBlock && frozenRows
      ? {
          vocabSize: config.vocabSize,
          headRows: (range: readonly [number, number], near: Tensor) =>
            rowBlock(headName, embedShape, range, near),
          targetRows: (ids: Tensor) => frozenRows(headName, embedShape, ids)
        }
      : null
  return {
    logits: () => rows.unflatten(gemm(hiddenRows, head(hiddenRows), null, { transB: true })), // (B, S, V)
    targetLogProbs: (chunks) => (targets) =>
      decodedHead
        ? vocabChunkedTargetLogProbs(hiddenRows, decodedHead, targets, chunks)
        : chunkedTargetLogProbs(hiddenRows, head(hiddenRows), targets, chunks)
  }
}

function loraPaths(
  adapter: Extract<StepGraphAdapter, { kind: 'lora' }>,
  params: ReadonlyMap<string, Tensor>,
  dropoutSeed: Tensor | null
) {
  return new Map(
    adapter.modules.map((module, salt) => [
      module.modulePath,
      {
        a: params.get(module.a)!,
        b: params.get(module.b)!,
        scaling: adapter.scaling,
        dropout: dropoutSeed ? { p: adapter.dropout, seed: dropoutSeed, salt } : undefined
      }
    ])
  )
}

/**
 * Activations [B, S, F] ↔ rows [B·S, F] for Gemm. The [B, S] prefix of every activation is the
 * input ids' shape, read once; each feature width gets one constant-suffixed target shape.
 */
class RowLayout {
  private readonly leading: Tensor
  private readonly targets = new Map<number, Tensor>()
  /** One flattening per activation: q, k and v read the same rows, and their gradients meet there. */
  private readonly flattened = new Map<Tensor, Tensor>()

  constructor(private readonly inputIds: Tensor) {
    this.leading = shape(inputIds) // [B, S]
  }

  flatten(x: Tensor): Tensor {
    const features = x.shape?.[x.shape.length - 1]
    if (x.rank !== 3 || typeof features !== 'number') {
      throw new Error(`step graph: expected activations [batch, seq, features], got ${x}`)
    }
    let rows = this.flattened.get(x)
    if (!rows) {
      rows = reshape(x, [-1, features]) // (B·S, F)
      this.flattened.set(x, rows)
    }
    return rows
  }

  unflatten(rows: Tensor): Tensor {
    const features = rows.shape?.[1]
    if (typeof features !== 'number') throw new Error(`step graph: rows ${rows} need a static width`)
    let target = this.targets.get(features)
    if (!target) {
      target = concat([this.leading, this.inputIds.graph.int64s([features])], 0)
      this.targets.set(features, target)
    }
    return reshape(rows, target, [...this.inputIds.shape!, features]) // (B, S, F)
  }
}

/**
 * The held-out loss: Σ −log p and the count of labelled tokens, through the same label shift as
 * training (the sft hook's context with unit weights).
 */
function buildEvalOutputs(g: GraphBuilder, output: Pick<LossSources, 'logits' | 'targetLogProbs'>): void {
  const labels = g.input(LOSS_INPUT_NAMES.labels, 'int64', ['batch', 'seq'])
  const labelled = cast(not(equal(labels, IGNORE_INDEX)), 'float32') // (B, S)
  const rows = constantOfShape(shape(labels, 0, 1), 1, 'float32', [labels.shape![0]]) // (B)
  const ctx = buildLossContext(
    PLAIN_NLL_DEMANDS,
    { ...output, labels, lossWeights: labelled, sampleWeights: rows },
    {}
  )
  const tokenLogProbs = mul(ctx.tokenLogProbs, ctx.labelMask) // (B, S)
  g.output(tokenLogProbs, STEP_GRAPH_NAMES.tokenLogProbs)
  g.output(neg(reduceSum(tokenLogProbs, undefined, { keepDims: false })), STEP_GRAPH_NAMES.nllSum)
  g.output(reduceSum(ctx.labelMask, undefined, { keepDims: false }), STEP_GRAPH_NAMES.tokenCount)
}

/** The batch selection's forward-only statistics of a candidate batch (run-hooks.ts, BatchSelection). */
function buildScoreOutputs(g: GraphBuilder, spec: StepGraphSpec, logits: Tensor): void {
  const selection = spec.recipe.selectBatch
  if (!selection) throw new Error(`step graph: recipe "${spec.recipe.name}" has no batch selection to score`)
  const ctx = buildLossContext(
    spec.recipe,
    { logits, ...declareLossInputs(g, spec.recipe) },
    spec.recipeParams
  )
  for (const [name, value] of Object.entries(selection.statistics(logits, ctx))) {
    g.output(value, statisticOutputName(name))
  }
}
