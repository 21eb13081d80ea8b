/**
 * Graph builder DSL + reverse-mode autodiff for ONNX.
 *
 * A GraphBuilder collects inputs (with symbolic dims), initializers (weights, referenced without
 * copying), constants and nodes. Ops are plain functions over Tensor handles (`ops/<op>.ts`);
 * a handle knows its graph, dtype and whatever shape is known at build time.
 * `gradients(loss, wrt)` appends the backward pass to the same graph, built by the rules in
 * `grads/<op>_grad.ts` (which import the ops, never the reverse); passes (`passes/`) then rewrite
 * the result for onnxruntime. Numbers mix with tensors in elementwise ops and become constants of
 * the tensor's dtype. Names are generated deterministically: the same build gives the same bytes.
 *
 *   const g = new GraphBuilder('tiny-lm')
 *   const ids = g.input('input_ids', 'int64', ['batch', 'seq'])
 *   const labels = g.input('labels', 'int64', ['batch', 'seq'])
 *   const embed = g.initializer('embed', 'float32', [vocab, dim], embedWeights) // no copy
 *   const w = g.input('w', 'float32', [dim, vocab])                              // trainable
 *   const logits = reshape(matmul(gather(embed, ids), w), [-1, vocab])          // (B·S, V)
 *   const picked = gatherElements(logSoftmax(logits, -1), reshape(labels, [-1, 1]), 1) // (B·S, 1)
 *   const loss = neg(reduceMean(picked, undefined, { keepDims: false }))          // mean NLL
 *   const [dw] = gradients(loss, [w])
 *   g.output(loss, 'loss'); g.output(dw, 'grad_w')
 *   await g.save(dir)   // dir/model.onnx + dir/model.onnx.data (large initializers)
 */
export { GraphBuilder, type GraphBuilderOptions, type NodeSpec, type OutputSpec } from './builder'
export { Tensor, type GraphNode, type TensorKind } from './tensor'
export { attr, intAttr, intsAttr, stringAttr, type AttrValue, type Attrs } from './attrs'
export {
  broadcastShapes,
  formatShape,
  isStaticShape,
  normalizeAxis,
  sameDim,
  sameShape,
  staticNumel,
  type Dim,
  type Shape
} from './shape'
export { gradients, type GradientsOptions } from './autodiff'
export { gateOn, gateRows, runTimeZero } from './gate'
export {
  createOpRegistry,
  defineOp,
  NOT_DIFFERENTIABLE,
  type GradientContext,
  type GradientRule,
  type InputGradient,
  type OpDef,
  type OpRegistry
} from './registry'
export { OP_DEFS, OP_REGISTRY } from './grads/index'
export { sumToShapeOf } from './grads/helpers'
export { fuseTransposesIntoGemm, gemmOverRows } from './passes/gemm'
export * from './ops/index'
