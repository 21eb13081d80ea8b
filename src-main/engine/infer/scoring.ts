/**
 * Scoring: the log-probability of each labelled token given the tokens before it, for a
 * right-padded batch. Labels follow the HF convention: labels[t] sits at the position of the token
 * it names and is predicted from positions < t; −100 marks a token that is not scored.
 *
 * The graph applies the language-model head only to the positions whose next token is scored, so
 * a prompt that is not scored costs no vocabulary-sized work.
 */
import type { ModelConfig } from '../checkpoint/hf-config'
import { IGNORE_INDEX } from '../tokenizer/labels'
import {
  equal,
  gather,
  gatherElements,
  logSoftmax,
  nonZero,
  not,
  range,
  reduceSum,
  reshape,
  shape,
  slice,
  squeeze,
  unsqueeze,
  SLICE_TO_END,
  type GraphBuilder,
  type Tensor
} from '../graph/index'
import { fusedDecoderForward, supportsFusedDecoder } from '../models/fused'
import {
  decoderForward,
  lmHead,
  paddedCausalBias,
  type DecoderWeights,
  type ParamProvider
} from '../models/llama'
import { hostTensor } from '../runtime/session'
import type { WeightsSource } from '../models/weights'
import { contextLimit, ModelGraphSession, openModelGraph, type InferenceOptions } from './model-session'

export interface ScoreRow {
  inputIds: readonly number[]
  /** Same length as inputIds; IGNORE_INDEX (−100) where the token is not scored. */
  labels: readonly number[]
}

export interface RowScore {
  /** log p(labels[t] | tokens < t) where labels[t] is scored (t ≥ 1), else null. */
  tokenLogprobs: (number | null)[]
  /** Sum of tokenLogprobs over the scored tokens. */
  logprob: number
  /** How many tokens are scored. */
  tokens: number
}

export interface ScoreAllOptions {
  /** Padded tokens per batch (rows × longest row); default defaultBatchTokens(vocab size). */
  batchTokens?: number
  onProgress?: (rowsDone: number, rowsTotal: number) => void
  signal?: AbortSignal
}

/**
 * Padded tokens per scoring run: enough work to keep the matmuls efficient, few enough that the
 * logits and log-probabilities of the scored tokens (2 × tokens × vocab floats) stay near 1 GiB.
 */
export function defaultBatchTokens(vocabSize: number): number {
  const logitsBudgetBytes = 2 ** 30
  return Math.max(256, Math.min(4096, Math.floor(logitsBudgetBytes / (8 * vocabSize))))
}

/**
 * Graph inputs input_ids, attention_mask, labels (int64 [batch, seq], right-padded); output
 * label_logprobs [scored]: log p(labels[t] | tokens < t) for every labelled t ≥ 1, row-major.
 * `fused` picks the contrib-op decoder where the model allows it.
 */
export function buildScoringGraph(
  g: GraphBuilder,
  config: ModelConfig,
  param: ParamProvider,
  fused: boolean
): void {
  const inputIds = g.input('input_ids', 'int64', ['batch', 'seq'])
  const attentionMask = g.input('attention_mask', 'int64', ['batch', 'seq'])
  const labels = g.input('labels', 'int64', ['batch', 'seq'])
  const weights = { param }
  const { hidden } =
    fused && supportsFusedDecoder(config)
      ? fusedDecoderForward(config, param, {
          inputIds,
          keyLengths: reduceSum(attentionMask, [1], { keepDims: false }),
          totalLength: shape(inputIds, 1, 2)
        })
      : decoderForward(config, weights, {
          inputIds,
          positions: range(0, reshape(shape(inputIds, 1, 2), []), 1, 'int64'), // (S): 0…S−1 on every row
          attentionBias: paddedCausalBias(attentionMask)
        })
  const E = config.hiddenSize
  // hidden at t predicts the token at t + 1
  const predicting = reshape(slice(hidden, [0], [-1], [1]), [-1, E]) // (B·(S−1), E)
  const targets = reshape(slice(labels, [1], [SLICE_TO_END], [1]), [-1]) // (B·(S−1))
  const scored = reshape(nonZero(not(equal(targets, IGNORE_INDEX))), [-1]) // (N) row-major
  const { logprobs } = targetLogprobs(config, weights, gather(predicting, scored), gather(targets, scored))
  g.output(logprobs, 'label_logprobs')
}

/**
 * log p(target) from the final hidden states that predict each target, [N, E] and [N]: the
 * language-model head runs only on these N positions. Also returns their logits [N, V].
 */
export function targetLogprobs(
  config: ModelConfig,
  weights: DecoderWeights,
  predicting: Tensor,
  targets: Tensor
): { logprobs: Tensor; logits: Tensor } {
  const logits = lmHead(config, weights, predicting) // (N, V)
  const picked = gatherElements(logSoftmax(logits, -1), unsqueeze(targets, [1]), 1) // (N, 1)
  return { logprobs: squeeze(picked, [1]), logits }
}

export function isTokenId(id: number, vocabSize: number): boolean {
  return Number.isInteger(id) && id >= 0 && id < vocabSize
}

/** Throws unless the row fits the model's context and vocabulary (onnxruntime's own error names no row). */
function checkRow(row: ScoreRow, index: number, config: ModelConfig): void {
  const { vocabSize } = config
  const where = `Scorer.score: row ${index}`
  const limit = contextLimit(config)
  if (row.inputIds.length > limit) {
    throw new Error(`${where} has ${row.inputIds.length} tokens, more than the model's ${limit} positions`)
  }
  if (row.labels.length !== row.inputIds.length) {
    throw new Error(`${where} has ${row.inputIds.length} input ids but ${row.labels.length} labels`)
  }
  const badId = row.inputIds.findIndex((id) => !isTokenId(id, vocabSize))
  if (badId >= 0) {
    throw new Error(
      `${where}: input id ${row.inputIds[badId]} at position ${badId} is not a token id (vocab ${vocabSize})`
    )
  }
  const badLabel = row.labels.findIndex((id) => id !== IGNORE_INDEX && !isTokenId(id, vocabSize))
  if (badLabel >= 0) {
    throw new Error(
      `${where}: label ${row.labels[badLabel]} at position ${badLabel} is not a token id (vocab ${vocabSize})`
    )
  }
}

/** A scoring session for one model (+ adapter). */
export class Scorer extends ModelGraphSession {
  static async open(source: WeightsSource, options: InferenceOptions = {}): Promise<Scorer> {
    const { model, session } = await openModelGraph(
      source,
      'score',
      (g, param, config) => buildScoringGraph(g, config, param, options.fused ?? true),
      options
    )
    return new Scorer(model, session)
  }

  /** Scores rows as one right-padded batch. */
  async score(rows: readonly ScoreRow[]): Promise<RowScore[]> {
    if (rows.length === 0) return []
    const seq = Math.max(...rows.map((row) => row.inputIds.length))
    const batch = rows.length
    const ids = new BigInt64Array(batch * seq).fill(BigInt(this.model.config.padTokenId ?? 0))
    const mask = new BigInt64Array(batch * seq)
    const labels = new BigInt64Array(batch * seq).fill(BigInt(IGNORE_INDEX))
    rows.forEach((row, b) => {
      checkRow(row, b, this.model.config)
      for (let t = 0; t < row.inputIds.length; t++) {
        ids[b * seq + t] = BigInt(row.inputIds[t])
        mask[b * seq + t] = 1n
        labels[b * seq + t] = BigInt(row.labels[t])
      }
    })
    const { label_logprobs: picked } = await this.session.run({
      input_ids: hostTensor('int64', [batch, seq], ids),
      attention_mask: hostTensor('int64', [batch, seq], mask),
      labels: hostTensor('int64', [batch, seq], labels)
    })
    const values = picked.data as Float32Array
    // The graph returns scored tokens in row-major order of (row, position ≥ 1).
    let next = 0
    return rows.map((row) => {
      const tokenLogprobs: (number | null)[] = row.labels.map(() => null)
      let logprob = 0
      let tokens = 0
      for (let t = 1; t < row.labels.length; t++) {
        if (row.labels[t] === IGNORE_INDEX) continue
        const value = values[next++]
        tokenLogprobs[t] = value
        logprob += value
        tokens++
      }
      return { tokenLogprobs, logprob, tokens }
    })
  }

  /**
   * Scores any number of rows, in batches of similar length (less padding) of at most
   * `batchTokens` padded tokens; results come back in the rows' order.
   */
  async scoreAll(rows: readonly ScoreRow[], options: ScoreAllOptions = {}): Promise<RowScore[]> {
    return runInLengthBatches(
      rows,
      (row) => row.inputIds.length,
      (batch) => this.score(batch),
      { ...options, operation: 'Scorer.scoreAll', vocabSize: this.model.config.vocabSize }
    )
  }
}

/**
 * Runs `run` over `entries` in batches of similar length (less padding), longest first, each of
 * at most `batchTokens` padded tokens (entries × the longest one's length, and at least one entry;
 * default defaultBatchTokens(vocabSize)); results come back in the entries' order. Checks `signal`
 * before each batch.
 */
export async function runInLengthBatches<T, R>(
  entries: readonly T[],
  lengthOf: (entry: T) => number,
  run: (batch: T[]) => Promise<R[]>,
  options: ScoreAllOptions & { operation: string; vocabSize: number }
): Promise<R[]> {
  const budget = options.batchTokens ?? defaultBatchTokens(options.vocabSize)
  const lengths = entries.map(lengthOf)
  const order = entries.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a])
  const results = new Array<R>(entries.length)
  let done = 0
  while (done < order.length) {
    if (options.signal?.aborted) throw new Error(`${options.operation}: cancelled`)
    const longest = lengths[order[done]] // sorted: the first entry of a batch is its longest
    const size = Math.max(1, Math.min(order.length - done, Math.floor(budget / longest)))
    const batch = order.slice(done, done + size)
    const batchResults = await run(batch.map((i) => entries[i]))
    batch.forEach((entryIndex, k) => (results[entryIndex] = batchResults[k]))
    done += size
    options.onProgress?.(done, entries.length)
  }
  return results
}
