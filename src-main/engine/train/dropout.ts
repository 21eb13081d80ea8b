/**
 * Dropout whose mask is a pure function of (step seed, salt, element index), computed inside the
 * graph: no mask crosses the JS boundary, and a resumed run draws exactly the masks an
 * uninterrupted run would have drawn, because the step seed depends only on the run seed, the
 * optimizer step and the micro-batch (`dropoutStepSeed`), never on generator state.
 *
 * The mask hashes each element's flat index with a counter-based integer hash (two rounds of the
 * 32-bit xorshift-multiply finaliser, Thomas Mueller's `hash32`), keyed first by the step seed and
 * then by a per-use salt, so every adapted layer gets its own mask. It runs in int64 with every
 * intermediate value below 2⁶³: products are of a 32-bit value and a 27-bit constant, and the
 * right shift is an integer division by 2¹⁶ of a non-negative value.
 */
import {
  add,
  cast,
  div,
  greater,
  mul,
  range,
  reshape,
  shapeOf,
  size,
  where,
  type Tensor
} from '../graph/index'
import type { GraphBuilder } from '../graph/index'
import { Rng } from '../rng'

/** Graph input carrying the step's dropout seed (int64 scalar). */
export const DROPOUT_SEED_INPUT = 'dropout_seed'

const LOW_32_BITS = 0xffffffff
const HASH_MULTIPLIER = 0x45d9f3b
/** Stream tag of Rng.fromSeed for dropout seeds ("Drop"). */
const DROPOUT_STREAM = 0x44726f70

/**
 * The dropout seed of micro-batch `micro` of optimizer step `step` (1-based) in a run seeded with
 * `seed`: a uint32 that depends on nothing else.
 */
export function dropoutStepSeed(seed: number, step: number, micro: number): number {
  return Rng.fromSeed(seed, DROPOUT_STREAM, step, micro).nextUint32()
}

export function declareDropoutSeed(g: GraphBuilder): Tensor {
  return g.input(DROPOUT_SEED_INPUT, 'int64', [])
}

/**
 * x with each element zeroed with probability p and the rest scaled by 1/(1 − p) (inverted
 * dropout, as torch.nn.Dropout in training mode). `salt` tells uses apart within one step.
 */
export function hashDropout(x: Tensor, p: number, seed: Tensor, salt: number): Tensor {
  if (!(p > 0 && p < 1)) throw new Error(`hashDropout: p must be in (0, 1), got ${p}`)
  const g = x.graph
  const salted = hashedIndices(x, seed, salt, 'hashDropout') // (numel) in [0, 2³²)
  // keep when hash ≥ p·2³²: P(keep) = 1 − p up to 2⁻³²
  const threshold = Math.ceil(p * 2 ** 32) - 1
  const scale = where(greater(salted, threshold), g.scalar(1 / (1 - p), x.dtype), 0) // (numel)
  return mul(x, reshape(cast(scale, x.dtype), shapeOf(x), x.shape))
}

/**
 * Uniform draws in (0, 1), one per element of x and shaped like it, from the same hash as the
 * dropout masks: a pure function of (step seed, salt, element index), so sampling recipes (otr)
 * redraw each step and a resumed run draws what an uninterrupted one would.
 */
export function hashUniform(x: Tensor, seed: Tensor, salt: number): Tensor {
  // the top 24 bits, exact in float32, so no draw rounds to 0 or 1
  const top = div(hashedIndices(x, seed, salt, 'hashUniform'), x.graph.scalar(256, 'int64')) // (numel) in [0, 2²⁴)
  const uniform = div(add(cast(top, 'float32'), 0.5), 2 ** 24) // (numel) in (0, 1)
  return reshape(uniform, shapeOf(x), x.shape)
}

/** The hash of each element's flat index keyed by the seed, then by the salt: int64 (numel) in [0, 2³²). */
function hashedIndices(x: Tensor, seed: Tensor, salt: number, caller: string): Tensor {
  if (!Number.isSafeInteger(salt) || salt < 0) {
    throw new Error(`${caller}: salt must be a non-negative integer, got ${salt}`)
  }
  const g = x.graph
  const index = range(0, size(x), 1, 'int64') // (numel)
  const keyed = hash32(
    bitwise('BitwiseXor', index, bitwise('BitwiseAnd', seed, g.scalar(LOW_32_BITS, 'int64')))
  )
  return hash32(bitwise('BitwiseXor', keyed, g.scalar(mix32(salt), 'int64')))
}

/** Mueller's 32-bit integer hash on int64 values in [0, 2³²). */
function hash32(x: Tensor): Tensor {
  const g = x.graph
  const mask = g.scalar(LOW_32_BITS, 'int64')
  const shift16 = (v: Tensor) => div(v, g.scalar(65536, 'int64'))
  const round = (v: Tensor) =>
    bitwise('BitwiseAnd', mul(bitwise('BitwiseXor', shift16(v), v), g.scalar(HASH_MULTIPLIER, 'int64')), mask)
  const twice = round(round(x))
  return bitwise('BitwiseXor', shift16(twice), twice)
}

/** The same hash on the JS side, for constants (salts). */
function mix32(value: number): number {
  let x = value >>> 0
  x = Math.imul((x >>> 16) ^ x, HASH_MULTIPLIER) >>> 0
  x = Math.imul((x >>> 16) ^ x, HASH_MULTIPLIER) >>> 0
  return ((x >>> 16) ^ x) >>> 0
}

/** ONNX bitwise ops (opset 18) on int64; no gradient rule needed: masks never lie on a gradient path. */
function bitwise(opType: 'BitwiseXor' | 'BitwiseAnd', a: Tensor, b: Tensor): Tensor {
  return a.graph.node1({ opType, inputs: [a, b], outputs: [{ dtype: 'int64', shape: a.shape }] })
}
