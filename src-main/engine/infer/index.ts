/**
 * Scoring (per-token log-probabilities, multiple choice) and generation (KV cache, sampling) on
 * compiled graphs.
 */
export {
  buildScoringGraph,
  defaultBatchTokens,
  Scorer,
  type RowScore,
  type ScoreAllOptions,
  type ScoreRow
} from './scoring'
export {
  buildChoiceScoringGraph,
  ChoiceScorer,
  type ChoiceItem,
  type ContinuationScore,
  type ScoreChoicesOptions
} from './choice-scoring'
export { readScoreRows, scoreRowFromJson, type ScoreRowLimits } from './score-rows'
export {
  buildGenerationGraph,
  encodeChatPrompt,
  encodePrompt,
  generationEosIds,
  Generator,
  type FinishReason,
  type GenerateOptions,
  type GenerateResult,
  type KvCache
} from './generation'
export {
  argmax,
  candidateDistribution,
  sampleToken,
  seededRandom,
  type Random,
  type SamplingOptions
} from './sampling'
export { TextStream, type StreamStep, type TextDecoder } from './text-stream'
export {
  contextLimit,
  defaultGraphCacheDir,
  loadModel,
  openGraphSession,
  type InferenceOptions,
  type LoadedModel
} from './model-session'
