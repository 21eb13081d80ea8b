/**
 * Reverse-mode automatic differentiation over a GraphBuilder: appends the backward nodes to the
 * same graph. Gradients reaching a value from several uses accumulate (one Sum per value).
 */
import { isFloatDType } from '../onnx/dtype'
import { OP_REGISTRY } from './grads/index'
import type { Segment } from './builder'
import { gateOn, regate, runTimeZero } from './gate'
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
    const recompute = new Recomputation(graph.segments, forward)
    const firstBackward = graph.nodes.length

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
      const anchor = outputGrads.find((g) => g !== null)!
      const seen = recompute.nodeForRule(node, anchor, (t) => dependent.has(t.id), accumulated)
      const answers = def.gradient(contextFor(seen, outputGrads))
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
    const result = wrt.map((w) => accumulated(w) ?? zerosLike(w))
    // A replayed node is built whole although a rule may read none of its values (an Add's rule
    // reads no input); what nothing reads is dropped rather than computed.
    if (recompute.replayed) graph.removeUnreadSince(firstBackward, result)
    return result
  })
}

/**
 * The backward pass's view of recomputed segments (GraphBuilder.checkpoint / recomputedOnRead).
 *
 * A checkpoint segment is replayed when the backward pass reaches it: its nodes are built again,
 * on demand, from the segment's inputs, and the gradient rules of its nodes see the replayed values,
 * so the forward pass's values inside the segment are read by nothing after the forward pass and
 * onnxruntime frees them as it goes. A read segment is replayed wherever a gradient rule reads one
 * of its values. A replay is gated on a gradient flowing into the segment (gate.ts): a replayed
 * node that would read only values from outside the segment reads one of them through the gate.
 * Without it onnxruntime's common-subexpression elimination would merge the replay back into the
 * forward pass, and nothing would stop it from running the replay early.
 */
class Recomputation {
  private readonly segmentOf = new Map<GraphNode, Segment>()
  private readonly replays = new Map<Segment, Replay>()
  /** Whether any segment or read value was built again. */
  replayed = false

  constructor(segments: readonly Segment[], forward: readonly GraphNode[]) {
    const inForward = new Set(forward)
    // Outermost first: a node of a nested segment belongs to the segment holding it.
    for (const segment of segments) {
      for (const node of segment.nodes) {
        if (inForward.has(node) && !this.segmentOf.has(node)) this.segmentOf.set(node, segment)
      }
    }
  }

  /**
   * The node a gradient rule for `node` should see: inside a checkpoint segment its replay; and
   * with every input computed by a read segment replaced by a replay of that value, when the rule
   * may read it (another input of the node carries a gradient).
   */
  nodeForRule(
    node: GraphNode,
    anchor: Tensor,
    isDependent: (t: Tensor) => boolean,
    accumulated: (t: Tensor) => Tensor | null
  ): GraphNode {
    const segment = this.segmentOf.get(node)
    if (segment?.kind === 'checkpoint') {
      let replay = this.replays.get(segment)
      if (!replay) {
        replay = new Replay(segment, segmentAnchor(segment, accumulated) ?? anchor, this.replayRead)
        this.replays.set(segment, replay)
      }
      this.replayed = true
      return replay.node(node)
    }
    const readsFrozen = node.inputs.some((t) => t !== null && this.readValue(t))
    if (!readsFrozen || !node.inputs.some((t) => t !== null && isDependent(t))) return node
    const inputs = node.inputs.map((t) =>
      t === null || isDependent(t) ? t : (this.replayRead(t, anchor) ?? t)
    )
    return { ...node, inputs }
  }

  /**
   * A replay of `t` gated on `anchor` when a read segment computes it; otherwise null. One replay
   * per segment serves the whole backward pass: a matrix several chunks of the loss multiply (the
   * LM head) is decoded once for all of them, gated on the first gradient that needs it.
   */
  private readonly replayRead = (t: Tensor, anchor: Tensor): Tensor | null => {
    const segment = this.readValue(t)
    if (!segment) return null
    this.replayed = true
    let replay = this.replays.get(segment)
    if (!replay) {
      replay = new Replay(segment, anchor, this.replayRead)
      this.replays.set(segment, replay)
    }
    return replay.value(t)
  }

  private readValue(t: Tensor): Segment | null {
    const segment = t.producer ? this.segmentOf.get(t.producer) : undefined
    return segment?.kind === 'read' ? segment : null
  }
}

/** The gradient of the first value leaving `segment` that has one (all of them are complete by then). */
function segmentAnchor(segment: Segment, accumulated: (t: Tensor) => Tensor | null): Tensor | null {
  for (const node of segment.nodes) {
    for (const output of node.outputs) {
      const grad = accumulated(output)
      if (grad) return grad
    }
  }
  return null
}

/** One recomputation of a segment: its nodes built again on demand, gated on `anchor`. */
class Replay {
  private readonly copies = new Map<GraphNode, GraphNode>()
  private readonly gated = new Map<Tensor, Tensor>()
  private zero: Tensor | null = null

  constructor(
    private readonly segment: Segment,
    private readonly anchor: Tensor,
    /** Replays a value of a read segment outside this one (a frozen matrix decoded before it). */
    private readonly replayRead: (t: Tensor, anchor: Tensor) => Tensor | null
  ) {}

  /** The replayed value standing for `t` (computed by the segment). */
  value(t: Tensor): Tensor {
    const copy = this.node(t.producer!)
    return copy.outputs[t.producer!.outputs.indexOf(t)]
  }

  node(original: GraphNode): GraphNode {
    const known = this.copies.get(original)
    if (known) return known
    const inputs = original.inputs.map((t) => {
      if (t === null) return t
      if (t.producer && this.segment.nodes.has(t.producer)) return this.value(t)
      return this.replayRead(t, this.anchor) ?? this.regated(t) ?? t
    })
    const fresh = inputs.some((t, j) => t !== null && t !== original.inputs[j])
    if (!fresh) {
      const j = inputs.findIndex((t) => t !== null && t.constValue === null)
      if (j >= 0) inputs[j] = this.gate(inputs[j]!)
    }
    const graph = this.anchor.graph
    const outputs = graph.node({
      opType: original.opType,
      domain: original.domain,
      gradOp: original.gradOp,
      attrs: original.attrs,
      inputs,
      outputs: original.outputs.map((t) => ({ dtype: t.dtype, shape: t.shape, constValue: t.constValue }))
    })
    const copy = outputs[0].producer!
    this.copies.set(original, copy)
    return copy
  }

  /**
   * A gated value from outside the segment (a frozen matrix's stored parts) gated again on the
   * anchor, from its source: reading the forward pass's gated copy would keep it alive until now.
   */
  private regated(t: Tensor): Tensor | null {
    return regate(t, () => (this.zero ??= runTimeZero(this.anchor)))
  }

  /** `t` read through a gate on the anchor (gate.ts). */
  private gate(t: Tensor): Tensor {
    const known = this.gated.get(t)
    if (known) return known
    this.zero ??= runTimeZero(this.anchor)
    const gated = gateOn(t, this.zero)
    this.gated.set(t, gated)
    return gated
  }
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
