/** The proof that step graphs may write updated tensors into the buffers their inputs came from. */
import { describe, expect, it } from 'vitest'
import { GraphBuilder, mul, reduceSum, sub, type Tensor } from '../../../src-main/engine/graph/index'
import { assertUpdatesMayOverwriteInputs } from '../../../src-main/engine/train/step-graph'

/** p' = p − grad·norm, with grad = p·x read before the global norm (the barrier). */
function updateGraph(): { g: GraphBuilder; p: Tensor; x: Tensor; norm: Tensor; next: Tensor } {
  const g = new GraphBuilder('in-place')
  const p = g.input('p', 'float32', [4])
  const x = g.input('x', 'float32', [4])
  const grad = mul(p, x)
  const norm = g.output(reduceSum(mul(grad, grad), undefined, { keepDims: false }), 'norm')
  const next = g.output(sub(p, mul(grad, norm)), 'p_next')
  return { g, p, x, norm, next }
}

describe('assertUpdatesMayOverwriteInputs', () => {
  it('accepts an update written after every read of its input (reads before the barrier, in place as first operand)', () => {
    const { g, p, norm, next } = updateGraph()
    expect(() => assertUpdatesMayOverwriteInputs(g, [{ input: p, output: next }], norm)).not.toThrow()
  })

  it('refuses when a read of the input is not ordered before the write', () => {
    const { g, p, norm, next } = updateGraph()
    g.output(mul(p, 3), 'late') // may run after p_next has overwritten p
    expect(() => assertUpdatesMayOverwriteInputs(g, [{ input: p, output: next }], norm)).toThrow(
      /Mul_\d+ \(Mul\) reads p but is not ordered before/
    )
  })

  it('refuses an in-place elementwise write whose input is not the first operand', () => {
    const { g, x, norm } = updateGraph()
    const written = g.output(sub(norm, x), 'x_next') // x is operand 1 of the writer
    expect(() => assertUpdatesMayOverwriteInputs(g, [{ input: x, output: written }], norm)).toThrow(/reads x/)
  })
})
