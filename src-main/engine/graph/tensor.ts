import type { DType } from '../onnx/dtype'
import type { Attrs } from './attrs'
import type { GraphBuilder } from './builder'
import { formatShape, type Shape } from './shape'

export type TensorKind = 'input' | 'initializer' | 'constant' | 'node'

/**
 * A handle on one value of a graph under construction. Ops take and return handles; the value
 * itself only exists when onnxruntime runs the graph. `shape` and `constValue` are what is known
 * at build time.
 */
export class Tensor {
  /** @internal Set by GraphBuilder.output when it names an intermediate value. */
  _name: string
  /** @internal Set by GraphBuilder.replaceNode when a pass rewrites the node computing this value. */
  _producer: GraphNode | null

  /** @internal Created only by GraphBuilder. */
  constructor(
    readonly graph: GraphBuilder,
    /** Creation order within the graph; stable across identical builds. */
    readonly id: number,
    name: string,
    readonly dtype: DType,
    readonly shape: Shape | null,
    readonly kind: TensorKind,
    /** Row-major values of small constants (int64 as numbers), known at build time. */
    readonly constValue: readonly number[] | null = null,
    producer: GraphNode | null = null
  ) {
    this._name = name
    this._producer = producer
  }

  get name(): string {
    return this._name
  }

  /** The node that computes this value (kind 'node'). */
  get producer(): GraphNode | null {
    return this._producer
  }

  /** null when the rank is unknown. */
  get rank(): number | null {
    return this.shape === null ? null : this.shape.length
  }

  toString(): string {
    return `${this._name}: ${this.dtype}${formatShape(this.shape)}`
  }
}

export interface GraphNode {
  readonly id: number
  readonly name: string
  readonly opType: string
  /** '' is the ONNX domain. */
  readonly domain: string
  /** Key of the gradient rule; the op type unless a pseudo-op (e.g. StopGradient) shares an ONNX op. */
  readonly gradOp: string
  /** null marks an omitted optional input. */
  readonly inputs: readonly (Tensor | null)[]
  readonly outputs: readonly Tensor[]
  readonly attrs: Attrs
}
