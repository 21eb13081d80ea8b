/**
 * Model architectures on the graph DSL, their building blocks, and the converted-weights cache
 * their graphs load from.
 */
export {
  causalBias,
  decoderForward,
  lmHead,
  paddedCausalBias,
  segmentCausalBias,
  type DecoderInputs,
  type DecoderOutputs,
  type DecoderWeights,
  type LayerKeyValues,
  type LinearHook,
  type ParamProvider
} from './llama'
export { groupedQueryAttention, linear, matmulTransposed, rmsNorm, silu } from './blocks'
export { applyRotary, ropeInverseFrequencies, rotaryAngles, rotaryTables, type RotaryTables } from './rope'
export { fusedDecoderForward, supportsFusedDecoder, type FusedDecoderInputs } from './fused'
export { prepareWeights, PreparedWeights, WEIGHTS_FILE, type WeightsSource } from './weights'
export { compileGraph } from './compiled-graph'
