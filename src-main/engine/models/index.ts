/** Model architectures on the graph DSL, and the converted-weights cache their graphs load from. */
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
export { fusedDecoderForward, supportsFusedDecoder, type FusedDecoderInputs } from './fused'
export { prepareWeights, PreparedWeights, WEIGHTS_FILE, type WeightsSource } from './weights'
export { compileGraph } from './compiled-graph'
