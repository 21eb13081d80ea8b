/**
 * Gradient rules, one per op (tfjs GradConfig / tinygrad style), kept in grads/<op>_grad.ts. A rule
 * receives the forward node and the gradients flowing into its outputs and answers for every input
 * of the node: a thunk building that input's gradient, or NOT_DIFFERENTIABLE where none flows
 * (indices, shapes, axes, masks). autodiff refuses a rule that leaves an input unanswered, so a
 * forgotten entry is an error instead of a silent zero gradient. Thunks let autodiff build only the
 * gradients something needs: a frozen weight's gradient is never emitted.
 */
import type { GraphNode, Tensor } from './tensor'

export interface GradientContext {
  readonly node: GraphNode
  readonly inputs: readonly (Tensor | null)[]
  readonly outputs: readonly Tensor[]
  /** Gradient of the loss with respect to each output; null where none flows. */
  readonly outputGrads: readonly (Tensor | null)[]
  /** The gradient of output 0 (throws when none flows; multi-output ops read outputGrads). */
  readonly grad: Tensor
}

/** A rule's answer for an input no gradient flows into; it must be given, never implied. */
export const NOT_DIFFERENTIABLE = Symbol('not differentiable')

export type InputGradient = (() => Tensor) | typeof NOT_DIFFERENTIABLE
/** Returns one answer per input of the node, in input order. */
export type GradientRule = (ctx: GradientContext) => readonly InputGradient[]

export interface OpDef {
  /** The ONNX op type, or a pseudo-op key such as 'StopGradient'. */
  readonly opType: string
  /** 'non-differentiable': no gradient flows through (outputs are constants to autodiff). */
  readonly gradient: GradientRule | 'non-differentiable'
}

export type OpRegistry = ReadonlyMap<string, OpDef>

export function defineOp(def: OpDef): OpDef {
  return def
}

export function createOpRegistry(defs: readonly OpDef[]): OpRegistry {
  const registry = new Map<string, OpDef>()
  for (const def of defs) {
    if (registry.has(def.opType)) throw new Error(`createOpRegistry: op "${def.opType}" is registered twice`)
    registry.set(def.opType, def)
  }
  return registry
}
