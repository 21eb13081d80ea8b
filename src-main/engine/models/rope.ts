/**
 * Rotary position embeddings (RoPE), all of it: the inverse frequencies a config implies (Llama 3
 * scaling included), the angles position·frequency, the cos/sin tables of HF's rotate-half layout,
 * and the rotation itself. The standard-op decoder (llama.ts) rotates with these tables; the fused
 * decoder (fused.ts) hands the angles' cos/sin to GroupQueryAttention, which rotates inside.
 */
import type { ModelConfig } from '../checkpoint/hf-config'
import {
  add,
  cast,
  concat,
  cos,
  mul,
  neg,
  sin,
  slice,
  SLICE_TO_END,
  unsqueeze,
  type Tensor
} from '../graph/index'
import type { DType } from '../onnx/dtype'

export type RopeConfig = Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>

/**
 * RoPE inverse frequencies θ_i = theta^(−2i/d), i = 0 … d/2−1, with Llama 3 scaling applied when
 * configured. Llama 3 scaling leaves short wavelengths alone, divides long ones by `factor`, and
 * blends linearly in between (in 1/wavelength):
 *
 *   λ_i = 2π / θ_i,  L = original_max_position_embeddings
 *   λ_i < L / high_freq_factor  →  θ_i                         (high frequency: kept)
 *   λ_i > L / low_freq_factor   →  θ_i / factor                (low frequency: interpolated)
 *   otherwise, with s = (L/λ_i − low_freq_factor) / (high_freq_factor − low_freq_factor):
 *                               →  (1 − s)·θ_i/factor + s·θ_i
 *
 * Computed in float64; transformers computes the same in float32.
 */
export function ropeInverseFrequencies(config: RopeConfig): Float64Array {
  const half = config.headDim / 2
  const frequencies = new Float64Array(half)
  for (let i = 0; i < half; i++) frequencies[i] = 1 / config.ropeTheta ** ((2 * i) / config.headDim)
  const scaling = config.ropeScaling
  if (!scaling) return frequencies
  const lowFrequencyWavelength = scaling.originalMaxPositionEmbeddings / scaling.lowFreqFactor
  const highFrequencyWavelength = scaling.originalMaxPositionEmbeddings / scaling.highFreqFactor
  for (let i = 0; i < half; i++) {
    const frequency = frequencies[i]
    const wavelength = (2 * Math.PI) / frequency
    if (wavelength < highFrequencyWavelength) continue
    if (wavelength > lowFrequencyWavelength) {
      frequencies[i] = frequency / scaling.factor
      continue
    }
    const smooth =
      (scaling.originalMaxPositionEmbeddings / wavelength - scaling.lowFreqFactor) /
      (scaling.highFreqFactor - scaling.lowFreqFactor)
    frequencies[i] = ((1 - smooth) * frequency) / scaling.factor + smooth * frequency
  }
  return frequencies
}

/** position·θ_i for positions [..., S] (int64 or float): [..., S, D/2] in `dtype`. */
export function rotaryAngles(config: RopeConfig, positions: Tensor, dtype: DType): Tensor {
  const inverseFrequencies = Array.from(ropeInverseFrequencies(config))
  const frequencies = positions.graph.constant(dtype, [inverseFrequencies.length], inverseFrequencies)
  return mul(unsqueeze(cast(positions, dtype), [-1]), frequencies) // (..., S, D/2)
}

export interface RotaryTables {
  /** cos/sin of position·frequency, [..., S, D]: the D/2 angles repeated over both halves. */
  cos: Tensor
  sin: Tensor
}

/** The cos/sin tables `applyRotary` takes, for positions [..., S]. */
export function rotaryTables(config: RopeConfig, positions: Tensor, dtype: DType): RotaryTables {
  const angles = rotaryAngles(config, positions, dtype) // (..., S, D/2)
  const both = concat([angles, angles], -1) // (..., S, D)
  return { cos: cos(both), sin: sin(both) }
}

/**
 * x·cos + rotate_half(x)·sin with rotate_half([a, b]) = [−b, a] over the halves of the last axis:
 * pair (i, i + D/2) turns by its angle (HF's layout, not interleaved pairs).
 */
export function applyRotary(x: Tensor, cosTable: Tensor, sinTable: Tensor): Tensor {
  const headDim = x.shape?.[x.shape.length - 1]
  if (typeof headDim !== 'number') throw new Error(`applyRotary: ${x} needs a static head dim`)
  const first = slice(x, [0], [headDim / 2], [-1])
  const second = slice(x, [headDim / 2], [SLICE_TO_END], [-1])
  return add(mul(x, cosTable), mul(concat([neg(second), first], -1), sinTable))
}
