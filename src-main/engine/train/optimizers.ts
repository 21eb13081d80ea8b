/**
 * In-graph optimizer updates: the step graph ends with these nodes, so one session run does
 * forward, loss, gradients, clipping and the update. Trainable tensors and their optimizer state
 * are graph inputs and the updated values graph outputs; the per-step scalars (learning rate, step
 * number, clipping threshold) are inputs too, so one compiled graph serves every step of a run.
 *
 * AdamW follows torch.optim.AdamW (decoupled weight decay, bias-corrected moments), term by term:
 *
 *   p ← p · (1 − lr·wd)                                  decoupled weight decay, before the moments
 *   m ← β1·m + (1 − β1)·g
 *   v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + eps)    = p − lr · m̂ / (√v̂ + eps)
 *
 * with t the 1-based number of this update. SGD follows torch.optim.SGD with dampening 0 and
 * nesterov off: d = g + wd·p (coupled decay), b ← μ·b + d when momentum μ > 0 (torch starts b
 * at d on the first step; with dampening 0 that equals starting from zeros), p ← p − lr·d (or b).
 *
 * The scalar arithmetic (bias corrections, step size, decay factor) runs in float64 on scalars, as
 * torch does it in Python floats, and is cast once to each parameter's dtype; the tensor arithmetic
 * runs in the parameter's dtype.
 *
 * Gradient clipping follows torch.nn.utils.clip_grad_norm_: the global L2 norm over all gradients,
 * coef = max_norm / (norm + 1e-6) clamped to ≤ 1, every gradient times coef. max_norm = 0 turns it
 * off. The norm (before clipping) is a graph output, as transformers logs it.
 *
 * Gradient accumulation: gradients of several micro-batches are SUMMED, then clipped and applied
 * once. A micro-step graph (forward + backward, no update) takes the running sums as inputs and
 * outputs `accumulateGradients(sums, grads)`; the last micro-batch runs the full step graph, which
 * adds its own gradients to the sums it is fed before clipping and updating (the first micro-step
 * is fed zeros). For the summed gradient to be the gradient of the whole optimizer step's mean
 * loss, each micro-batch's loss is normalised by the step's totals (the loss hook's `tokenTotal`
 * and `sampleTotal`, fed by the trainer), not by its own token count; see loss-hook.ts.
 */
import {
  add,
  cast,
  div,
  greater,
  min,
  mul,
  pow,
  reduceSum,
  sqrt,
  sub,
  sum,
  where,
  type GraphBuilder,
  type Tensor
} from '../graph/index'
import { isFloatDType } from '../onnx/dtype'

export const OPTIMIZER_KINDS = ['adamw', 'sgd'] as const
export type OptimizerKind = (typeof OPTIMIZER_KINDS)[number]

export interface AdamWConfig {
  kind: 'adamw'
  betas: readonly [number, number]
  eps: number
  /** Decoupled weight decay (torch.optim.AdamW's weight_decay). */
  weightDecay: number
}

export interface SgdConfig {
  kind: 'sgd'
  /** 0 = plain SGD, no state. */
  momentum: number
  /** Coupled weight decay: added to the gradient as wd·p (torch.optim.SGD's weight_decay). */
  weightDecay: number
}

export type OptimizerConfig = AdamWConfig | SgdConfig

/**
 * The per-step scalars of the step graph, each a rank-0 input. `lr` comes from the schedule,
 * `step` is the 1-based number of this update (AdamW's bias correction), `maxGradNorm` the
 * clipping threshold (0 = no clipping).
 */
export interface StepScalars {
  lr: Tensor
  step: Tensor
  maxGradNorm: Tensor
}

/** Input names of the step scalars; fed as float64 so JS numbers arrive unrounded. */
export const STEP_SCALAR_INPUTS = { lr: 'lr', step: 'step', maxGradNorm: 'max_grad_norm' } as const

export function declareStepScalars(g: GraphBuilder): StepScalars {
  return {
    lr: g.input(STEP_SCALAR_INPUTS.lr, 'float64', []),
    step: g.input(STEP_SCALAR_INPUTS.step, 'float64', []),
    maxGradNorm: g.input(STEP_SCALAR_INPUTS.maxGradNorm, 'float64', [])
  }
}

/**
 * Names of the state tensors the optimizer keeps per trainable tensor (torch's names), in the
 * order `TrainableTensor.state` holds them. Each is shaped like its tensor and starts at zero.
 */
export function optimizerStateNames(config: OptimizerConfig): readonly string[] {
  checkOptimizerConfig(config)
  if (config.kind === 'adamw') return ['exp_avg', 'exp_avg_sq']
  return config.momentum > 0 ? ['momentum_buffer'] : []
}

export interface TrainableTensor {
  param: Tensor
  /** Its gradient (clipped and accumulated as the caller wants; optimizerStep clips). */
  grad: Tensor
  /** Optimizer state in the order of optimizerStateNames. */
  state: readonly Tensor[]
  /** Overrides the config's weight decay for this tensor (e.g. 0 for norms and biases). */
  weightDecay?: number
}

export interface TensorUpdate {
  param: Tensor
  state: Tensor[]
}

export interface OptimizerStepResult {
  /** Aligned with the tensors passed in. */
  updates: TensorUpdate[]
  /** Global L2 norm of the gradients before clipping, rank 0, in the gradients' dtype. */
  gradNorm: Tensor
}

/** Clips the gradients by their global norm, then updates every tensor. */
export function optimizerStep(
  config: OptimizerConfig,
  tensors: readonly TrainableTensor[],
  scalars: StepScalars
): OptimizerStepResult {
  const clipped = clipGradientsByGlobalNorm(
    tensors.map((t) => t.grad),
    scalars.maxGradNorm
  )
  const updates = optimizerUpdates(
    config,
    tensors.map((t, i) => ({ ...t, grad: clipped.grads[i] })),
    scalars
  )
  return { updates, gradNorm: clipped.norm }
}

/** The update of every tensor from its (already clipped) gradient; no clipping here. */
export function optimizerUpdates(
  config: OptimizerConfig,
  tensors: readonly TrainableTensor[],
  scalars: Pick<StepScalars, 'lr' | 'step'>
): TensorUpdate[] {
  checkOptimizerConfig(config)
  const stateCount = optimizerStateNames(config).length
  for (const t of tensors) checkTrainable(t, stateCount)
  if (config.kind === 'sgd') return tensors.map((t) => sgdUpdate(config, t, scalars.lr))
  const shared = adamwScalars(config, scalars)
  return tensors.map((t) => adamwUpdate(config, t, scalars.lr, shared))
}

/** sqrt(Σ over all gradients of Σ g²), rank 0. */
export function gradientGlobalNorm(grads: readonly Tensor[]): Tensor {
  if (grads.length === 0) throw new Error('gradientGlobalNorm: no gradients')
  const dtype = grads[0].dtype
  const squares = grads.map((g) => cast(reduceSum(mul(g, g), undefined, { keepDims: false }), dtype))
  return sqrt(sum(squares))
}

/**
 * torch.nn.utils.clip_grad_norm_: every gradient times min(maxNorm / (norm + 1e-6), 1); a
 * maxNorm ≤ 0 leaves them unchanged. `maxNorm` is a rank-0 float tensor (a step input).
 */
export function clipGradientsByGlobalNorm(
  grads: readonly Tensor[],
  maxNorm: Tensor
): { grads: Tensor[]; norm: Tensor } {
  const norm = gradientGlobalNorm(grads)
  const dtype = norm.dtype
  const coef = min(div(cast(maxNorm, dtype), add(norm, 1e-6)), 1)
  const applied = where(greater(maxNorm, 0), coef, 1) // (rank 0)
  return { grads: grads.map((g) => mul(g, cast(applied, g.dtype))), norm }
}

/** Running gradient sums for accumulation: sums + grads, pairwise. */
export function accumulateGradients(sums: readonly Tensor[], grads: readonly Tensor[]): Tensor[] {
  if (sums.length !== grads.length) {
    throw new Error(`accumulateGradients: ${sums.length} sums for ${grads.length} gradients`)
  }
  return grads.map((g, i) => add(sums[i], g))
}

interface AdamWScalars {
  /** lr / (1 − β1ᵗ), float64. */
  stepSize: Tensor
  /** √(1 − β2ᵗ), float64. */
  bias2Sqrt: Tensor
}

function adamwScalars(config: AdamWConfig, scalars: Pick<StepScalars, 'lr' | 'step'>): AdamWScalars {
  const g = scalars.lr.graph
  const [beta1, beta2] = config.betas
  const step = cast(scalars.step, 'float64')
  const lr = cast(scalars.lr, 'float64')
  const bias1 = sub(1, pow(g.scalar(beta1, 'float64'), step))
  const bias2 = sub(1, pow(g.scalar(beta2, 'float64'), step))
  return { stepSize: div(lr, bias1), bias2Sqrt: sqrt(bias2) }
}

function adamwUpdate(
  config: AdamWConfig,
  t: TrainableTensor,
  lr: Tensor,
  shared: AdamWScalars
): TensorUpdate {
  const [beta1, beta2] = config.betas
  const { param: p, grad } = t
  const [expAvg, expAvgSq] = t.state
  const dtype = p.dtype
  const decayed = decayedParam(p, lr, t.weightDecay ?? config.weightDecay)
  const m = add(mul(expAvg, beta1), mul(grad, 1 - beta1))
  const v = add(mul(expAvgSq, beta2), mul(mul(grad, grad), 1 - beta2))
  const denom = add(div(sqrt(v), cast(shared.bias2Sqrt, dtype)), config.eps)
  const next = sub(decayed, mul(div(m, denom), cast(shared.stepSize, dtype)))
  return { param: next, state: [m, v] }
}

/** p · (1 − lr·wd), the factor computed in float64; p itself when wd is 0. */
function decayedParam(p: Tensor, lr: Tensor, weightDecay: number): Tensor {
  if (weightDecay === 0) return p
  const factor = sub(1, mul(cast(lr, 'float64'), weightDecay))
  return mul(p, cast(factor, p.dtype))
}

function sgdUpdate(config: SgdConfig, t: TrainableTensor, lr: Tensor): TensorUpdate {
  const { param: p, grad } = t
  const weightDecay = t.weightDecay ?? config.weightDecay
  const direction = weightDecay === 0 ? grad : add(grad, mul(p, weightDecay))
  const state: Tensor[] = []
  let step = direction
  if (config.momentum > 0) {
    step = add(mul(t.state[0], config.momentum), direction) // dampening 0
    state.push(step)
  }
  return { param: sub(p, mul(step, cast(lr, p.dtype))), state }
}

function checkTrainable(t: TrainableTensor, stateCount: number): void {
  const { param, grad, state } = t
  if (!isFloatDType(param.dtype)) throw new Error(`optimizer: cannot update ${param} (not a float)`)
  if (grad.dtype !== param.dtype) throw new Error(`optimizer: gradient ${grad} has not the dtype of ${param}`)
  if (state.length !== stateCount) {
    throw new Error(`optimizer: ${param.name} needs ${stateCount} state tensors, got ${state.length}`)
  }
  for (const s of state) {
    if (s.dtype !== param.dtype) throw new Error(`optimizer: state ${s} has not the dtype of ${param}`)
  }
  if (t.weightDecay !== undefined) checkNonNegative('weightDecay', t.weightDecay)
}

function checkOptimizerConfig(config: OptimizerConfig): void {
  if (config.kind === 'adamw') {
    const [beta1, beta2] = config.betas
    for (const [name, beta] of [
      ['betas[0]', beta1],
      ['betas[1]', beta2]
    ] as const) {
      if (!(beta >= 0 && beta < 1)) throw new Error(`optimizer adamw: ${name} must be in [0, 1), got ${beta}`)
    }
    if (!(config.eps > 0 && Number.isFinite(config.eps))) {
      throw new Error(`optimizer adamw: eps must be a finite number > 0, got ${config.eps}`)
    }
    checkNonNegative('weightDecay', config.weightDecay)
  } else if (config.kind === 'sgd') {
    if (!(config.momentum >= 0 && config.momentum < 1)) {
      throw new Error(`optimizer sgd: momentum must be in [0, 1), got ${config.momentum}`)
    }
    checkNonNegative('weightDecay', config.weightDecay)
  } else {
    const kind = (config as { kind: unknown }).kind
    throw new Error(`optimizer: unknown kind ${JSON.stringify(kind)}; known: ${OPTIMIZER_KINDS.join(', ')}`)
  }
}

function checkNonNegative(name: string, value: number): void {
  if (!(value >= 0 && Number.isFinite(value))) {
    throw new Error(`optimizer: ${name} must be a finite number ≥ 0, got ${value}`)
  }
}
