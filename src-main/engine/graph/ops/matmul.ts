import { broadcastShapes, formatShape, type Dim, type Shape } from '../shape'
import type { Tensor } from '../tensor'
import { graphOf } from './common'

/** Matrix product with numpy semantics: batched over leading axes, which broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const g = graphOf('MatMul', a, b)
  if (a.dtype !== b.dtype) throw new Error(`MatMul: dtype mismatch, ${a} vs ${b}`)
  return g.node1({
    opType: 'MatMul',
    inputs: [a, b],
    outputs: [{ dtype: a.dtype, shape: matmulShape(a, b) }]
  })
}

function matmulShape(a: Tensor, b: Tensor): Shape | null {
  if (a.shape === null || b.shape === null) return null
  if (a.shape.length === 0 || b.shape.length === 0) throw new Error(`MatMul: scalar operand in ${a} @ ${b}`)
  const as: Dim[] = a.shape.length === 1 ? [1, a.shape[0]] : [...a.shape]
  const bs: Dim[] = b.shape.length === 1 ? [b.shape[0], 1] : [...b.shape]
  const k1 = as[as.length - 1]
  const k2 = bs[bs.length - 2]
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
    throw new Error(`MatMul: inner dims differ, ${formatShape(a.shape)} @ ${formatShape(b.shape)}`)
  }
  const batch = broadcastShapes('MatMul', as.slice(0, -2), bs.slice(0, -2))!
  const out: Dim[] = [...batch]
  if (a.shape.length > 1) out.push(as[as.length - 2])
  if (b.shape.length > 1) out.push(bs[bs.length - 1])
  return out
}
