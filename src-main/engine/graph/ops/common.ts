/** Shared plumbing for op builders: graph lookup, scalar promotion, elementwise shapes. */
import type { DType } from '../../onnx/dtype'
import type { GraphBuilder } from '../builder'
import { broadcastShapes, normalizeAxis, type Shape } from '../shape'
import { Tensor } from '../tensor'

/** A tensor, or a JS number that becomes a scalar constant of the other operand's dtype. */
export type TensorLike = Tensor | number

/** The graph all tensor arguments belong to (throws if they come from different graphs). */
export function graphOf(where: string, ...values: readonly (TensorLike | null | undefined)[]): GraphBuilder {
  const tensors = values.filter((v): v is Tensor => v instanceof Tensor)
  if (tensors.length === 0) throw new Error(`${where}: needs at least one tensor argument`)
  const graph = tensors[0].graph
  for (const t of tensors) graph.assertOwn(t, where)
  return graph
}

export function toTensor(graph: GraphBuilder, value: TensorLike, dtype: DType): Tensor {
  return value instanceof Tensor ? value : graph.scalar(value, dtype)
}

/** Operand dtype of a mixed tensor/number argument list. */
export function dtypeOf(where: string, ...values: readonly TensorLike[]): DType {
  const tensor = values.find((v): v is Tensor => v instanceof Tensor)
  if (!tensor) throw new Error(`${where}: needs at least one tensor argument`)
  return tensor.dtype
}

/** Same-dtype elementwise op with broadcasting. */
export function elementwise(opType: string, values: readonly TensorLike[], outDtype?: DType): Tensor {
  const g = graphOf(opType, ...values)
  const dtype = dtypeOf(opType, ...values)
  const inputs = values.map((v) => toTensor(g, v, dtype))
  for (const t of inputs) {
    if (t.dtype !== dtype) throw new Error(`${opType}: dtype mismatch, ${inputs.map(String).join(' vs ')}`)
  }
  const shape = broadcastShapes(opType, ...inputs.map((t) => t.shape))
  return g.node1({ opType, inputs, outputs: [{ dtype: outDtype ?? dtype, shape }] })
}

export function unary(opType: string, x: Tensor): Tensor {
  return x.graph.node1({ opType, inputs: [x], outputs: [{ dtype: x.dtype, shape: x.shape }] })
}

export function requireRank(x: Tensor, where: string): number {
  if (x.rank === null) throw new Error(`${where}: needs the rank of ${x.name} to be known`)
  return x.rank
}

/** Axes resolved against a known rank, sorted ascending. */
export function normalizeAxes(axes: readonly number[], rank: number, where: string): number[] {
  const out = axes.map((a) => normalizeAxis(a, rank, where)).sort((a, b) => a - b)
  for (let i = 1; i < out.length; i++)
    if (out[i] === out[i - 1]) throw new Error(`${where}: repeated axis ${out[i]}`)
  return out
}

/** Values of a constant tensor argument, or null when only known at run time. */
export function knownValues(t: Tensor | null | undefined): readonly number[] | null {
  return t ? t.constValue : null
}

/** A JS int array becomes an int64 constant; tensors pass through. */
export function int64Input(graph: GraphBuilder, value: readonly number[] | Tensor): Tensor {
  return value instanceof Tensor ? value : graph.int64s(value)
}

export type { Shape }
