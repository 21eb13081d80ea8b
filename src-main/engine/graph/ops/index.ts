/**
 * Every op's builder, and THE registration list of gradient rules. An op added to the engine
 * gets a file beside these (builder + rule) and one line in OP_DEFS.
 */
import { createOpRegistry, type OpDef, type OpRegistry } from '../registry'
import { Add } from './add'
import { Cast } from './cast'
import { Concat } from './concat'
import { Cos } from './cos'
import { Div } from './div'
import { Exp } from './exp'
import { Expand } from './expand'
import { Gather } from './gather'
import { GatherElements } from './gather_elements'
import { Gemm } from './gemm'
import { Identity, StopGradient } from './identity'
import { Log } from './log'
import { LogSoftmax } from './log_softmax'
import { And, Equal, Greater, Less, Not } from './logical'
import { MatMul } from './matmul'
import { Max } from './max'
import { Min } from './min'
import { Mul } from './mul'
import { Neg } from './neg'
import { Pad } from './pad'
import { Pow } from './pow'
import { Reciprocal } from './reciprocal'
import { ReduceMax } from './reduce_max'
import { ReduceMean } from './reduce_mean'
import { ReduceSum } from './reduce_sum'
import { Relu } from './relu'
import { Reshape } from './reshape'
import { ConstantOfShape, NonZero, Range, ShapeOp, Size } from './shape_ops'
import { Sigmoid } from './sigmoid'
import { Sin } from './sin'
import { Slice } from './slice'
import { Softmax } from './softmax'
import { Split } from './split'
import { Sqrt } from './sqrt'
import { Squeeze } from './squeeze'
import { Sub } from './sub'
import { Sum } from './sum'
import { Tanh } from './tanh'
import { Transpose } from './transpose'
import { Trilu } from './trilu'
import { Unsqueeze } from './unsqueeze'
import { Where } from './where'

// ScatterND has a builder but deliberately no rule: it only appears inside gradients, and a
// loss that depends on it makes gradients() throw instead of silently dropping a term.
export const OP_DEFS: readonly OpDef[] = [
  // elementwise arithmetic
  Add,
  Sub,
  Mul,
  Div,
  Neg,
  Pow,
  Sqrt,
  Reciprocal,
  Exp,
  Log,
  Sigmoid,
  Tanh,
  Relu,
  Sin,
  Cos,
  Max,
  Min,
  Sum,
  // linear algebra and reductions
  MatMul,
  Gemm,
  ReduceSum,
  ReduceMean,
  ReduceMax,
  Softmax,
  LogSoftmax,
  // indexing and layout
  Gather,
  GatherElements,
  Reshape,
  Transpose,
  Slice,
  Pad,
  Concat,
  Split,
  Expand,
  Unsqueeze,
  Squeeze,
  Where,
  Cast,
  Identity,
  StopGradient,
  Trilu,
  // no gradient flows through these
  Equal,
  Less,
  Greater,
  Not,
  And,
  ShapeOp,
  Size,
  ConstantOfShape,
  Range,
  NonZero
]

export const OP_REGISTRY: OpRegistry = createOpRegistry(OP_DEFS)

export { add } from './add'
export { cast } from './cast'
export { concat } from './concat'
export { cos } from './cos'
export { div } from './div'
export { exp } from './exp'
export { expand } from './expand'
export { gather } from './gather'
export { gatherElements } from './gather_elements'
export { gemm, type GemmOptions } from './gemm'
export { identity, stopGradient } from './identity'
export { log } from './log'
export { logSoftmax } from './log_softmax'
export { and, equal, greater, less, not } from './logical'
export { matmul } from './matmul'
export { max } from './max'
export { min } from './min'
export { mul } from './mul'
export { neg } from './neg'
export { pad } from './pad'
export { pow } from './pow'
export { reciprocal } from './reciprocal'
export { reduceMax } from './reduce_max'
export { reduceMean } from './reduce_mean'
export { reduceSum } from './reduce_sum'
export type { ReduceOptions } from './reduce_common'
export { relu } from './relu'
export { reshape } from './reshape'
export { scatterND } from './scatter_nd'
export { constantOfShape, nonZero, range, shape, size } from './shape_ops'
export { sigmoid } from './sigmoid'
export { sin } from './sin'
export { slice, SLICE_TO_END } from './slice'
export { softmax } from './softmax'
export { split } from './split'
export { sqrt } from './sqrt'
export { squeeze } from './squeeze'
export { sub } from './sub'
export { sum } from './sum'
export { tanh } from './tanh'
export { transpose } from './transpose'
export { trilu, type TriluOptions } from './trilu'
export { unsqueeze } from './unsqueeze'
export { where } from './where'
export type { TensorLike } from './common'
