/**
 * Reverse-mode automatic differentiation over a GraphBuilder: appends the backward nodes to the
 * same graph. Gradients reaching a value from several uses accumulate (one Sum per value).
 */
import { isFloatDType } from '../onnx/dtype'
import { OP_REGISTRY } from './grads/index'
import { fillLike, zerosLike } from './ops/shape_ops'
import { sum } from './ops/sum'
import { NOT_DIFFERENTIABLE, type GradientContext, type InputGradient, type OpRegistry } from './registry'
import { formatShape, isStaticShape, sameShape } from './shape'
import type { GraphNode, Tensor } from './tensor'

export interface GradientsOptions {
  /** The gradient flowing into `loss`; default ones shaped like it. */
  seed?: Tensor
  /** Name scope of the backward nodes; default 'grad'. */
  scope?: string
  registry?: OpRegistry
}

/**
 * d loss / d w for each w in `wrt` (aligned with `wrt`). A w the loss does not depend on gets
 * zeros. Only the gradients the wrt tensors need are built: paths that do not lead to a wrt
 * (frozen weights, indices, masks) get no backward nodes.
 */
export function gradients(loss: Tensor, wrt: readonly Tensor[], options: GradientsOptions = {}): Tensor[] {
  const graph = loss.graph
  const registry = options.registry ?? OP_REGISTRY
  for (const w of wrt) {
    graph.assertOwn(w, 'gradients')
    if (!isFloatDType(w.dtype))
      throw new Error(`gradients: cannot differentiate with respect to ${w} (not a float)`)
  }
  if (!isFloatDType(loss.dtype)) throw new Error(`gradients: loss ${loss} is not a float`)

  return graph.scope(options.scope ?? 'grad', () => {
    // Only nodes up to the loss's producer can lie on a path into it.
    const forward = loss.producer ? graph.nodes.slice(0, graph.nodes.indexOf(loss.producer) + 1) : []
    const dependent = dependentValues(forward, wrt, registry)
    const pending = new Map<number, Tensor[]>()
    const accumulated = (t: Tensor): Tensor | null => {
      const parts = pending.get(t.id)
      if (!parts) return null
      if (parts.length > 1) pending.set(t.id, [sum(parts)])
      return pending.get(t.id)![0]
    }
    pending.set(loss.id, [options.seed ?? seedFor(loss)])

    for (let i = forward.length - 1; i >= 0; i--) {
      const node = forward[i]
      if (!node.inputs.some((t) => t !== null && dependent.has(t.id))) continue
      const outputGrads = node.outputs.map(accumulated)
      if (outputGrads.every((g) => g === null)) continue
      const def = registry.get(node.gradOp)
      if (!def) {
        throw new Error(
          `gradients: no gradient rule for op "${node.gradOp}" (node ${node.name}) on the path to ${loss.name}`
        )
      }
      if (def.gradient === 'non-differentiable') continue
      const answers = def.gradient(contextFor(node, outputGrads))
      checkAnswers(node, answers)
      node.inputs.forEach((input, j) => {
        if (!input || !dependent.has(input.id)) return
        const build = answers[j]
        if (build === NOT_DIFFERENTIABLE) {
          throw new Error(
            `gradients: rule for ${node.gradOp} (${node.name}) says input ${j} (${input}) is not ` +
              `differentiable, but it is computed from a tensor being differentiated and ${loss.name} ` +
              `depends on this node`
          )
        }
        const grad = build()
        checkGradient(node, input, grad)
        const parts = pending.get(input.id)
        if (parts) parts.push(grad)
        else pending.set(input.id, [grad])
      })
    }
    return wrt.map((w) => accumulated(w) ?? zerosLike(w))
  })
}

/** Float values computed from some wrt tensor through differentiable ops. */
function dependentValues(
  nodes: readonly GraphNode[],
  wrt: readonly Tensor[],
  registry: OpRegistry
): Set<number> {
  const dependent = new Set(wrt.map((w) => w.id))
  for (const node of nodes) {
    if (!node.inputs.some((t) => t !== null && dependent.has(t.id))) continue
    if (registry.get(node.gradOp)?.gradient === 'non-differentiable') continue
    for (const out of node.outputs) if (isFloatDType(out.dtype)) dependent.add(out.id)
  }
  return dependent
}

function seedFor(loss: Tensor): Tensor {
  return loss.shape !== null && loss.shape.length === 0 ? loss.graph.scalar(1, loss.dtype) : fillLike(loss, 1)
}

function contextFor(node: GraphNode, outputGrads: readonly (Tensor | null)[]): GradientContext {
  return {
    node,
    inputs: node.inputs,
    outputs: node.outputs,
    outputGrads,
    get grad(): Tensor {
      const g = outputGrads[0]
      if (!g) throw new Error(`gradients: ${node.name} has no gradient on output 0`)
      return g
    }
  }
}

/**
 * A rule answers for every input of its node (tinygrad asserts the same): a missing entry would
 * otherwise read as "no gradient" and silently zero that input's gradient.
 */
function checkAnswers(node: GraphNode, answers: readonly InputGradient[]): void {
  if (answers.length !== node.inputs.length) {
    throw new Error(
      `gradients: rule for ${node.gradOp} (${node.name}) answered for ${answers.length} inputs, ` +
        `but the node has ${node.inputs.length}`
    )
  }
  answers.forEach((answer, j) => {
    if (typeof answer !== 'function' && answer !== NOT_DIFFERENTIABLE) {
      throw new Error(
        `gradients: rule for ${node.gradOp} (${node.name}) gave ${String(answer)} for input ${j}, ` +
          `expected a gradient builder or NOT_DIFFERENTIABLE`
      )
    }
  })
}

/** Catches a gradient rule that returns the wrong dtype or a provably wrong shape. */
function checkGradient(node: GraphNode, input: Tensor, grad: Tensor): void {
  if (grad.dtype !== input.dtype) {
    throw new Error(`gradients: rule for ${node.opType} (${node.name}) gave ${grad} for input ${input}`)
  }
  if (isStaticShape(input.shape) && isStaticShape(grad.shape) && !sameShape(input.shape, grad.shape)) {
    throw new Error(
      `gradients: rule for ${node.opType} (${node.name}) gave shape ${formatShape(grad.shape)} ` +
        `for input ${input.name} of shape ${formatShape(input.shape)}`
    )
  }
}
