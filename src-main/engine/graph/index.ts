/**
 * Graph builder DSL + reverse-mode autodiff for ONNX.
 *
 * A GraphBuilder collects inputs (with symbolic dims), initializers (weights, referenced without
 * copying), constants and nodes. Ops are plain functions over Tensor handles (`ops/<op>.ts`, each
 * beside its gradient rule); a handle knows its graph, dtype and whatever shape is known at build
 * time. `gradients(loss, wrt)` appends the backward pass to the same graph. Numbers mix with
 * tensors in elementwise ops and become constants of the tensor's dtype. Names are generated
 * deterministically: the same build gives the same bytes.
 *
 *   const g = new GraphBuilder('tiny-lm')
 *   const ids = g.input('input_ids', 'int64', ['batch', 'seq'])
 *   const labels = g.input('labels', 'int64', ['batch', 'seq'])
 *   const embed = g.initializer('embed', 'float32', [vocab, dim], embedWeights) // no copy
 *   const w = g.input('w', 'float32', [dim, vocab])                              // trainable
 *   const h = rmsNorm(gather(embed, ids), g.constant('float32', [dim], ones), 1e-5)
 *   const logits = reshape(matmul(h, w), [-1, vocab])                            // (B·S, V)
 *   const { loss } = crossEntropy(logits, reshape(labels, [-1]))
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
export {
  createOpRegistry,
  defineOp,
  type GradientContext,
  type GradientRule,
  type InputGradient,
  type OpDef,
  type OpRegistry
} from './registry'
export { fillLike, shapeOf, sumToShapeOf, zerosLike } from './grad_helpers'
export * from './ops/index'
export * from './nn'
