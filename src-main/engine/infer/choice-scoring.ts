/**
 * Multiple-choice scoring: the log-probability of each continuation given a context that all of
 * an item's continuations share, computed with the context run once.
 *
 * An item becomes one row: the context, then every continuation end to end. A mask lets each
 * continuation attend to the context and to its own earlier tokens only, and its positions restart
 * right after the context, so each continuation is computed exactly as context + continuation
 * alone would be, while the context's keys and values are computed once and serve them all. The
 * first token of every continuation is predicted from the context's last position; a
 * continuation's last token predicts nothing that is scored, so it is not fed (lm-eval likewise
 * feeds (context + continuation)[:-1]). Several items run as one right-padded batch.
 *
 * The graph is built from standard ops: onnxruntime's GroupQueryAttention masks only causally (it
 * cannot keep continuations apart), and with a cache it takes several new tokens only at batch 1,
 * so sharing the context through its cache would need a run per continuation.
 */
import type { ModelConfig } from '../checkpoint/hf-config'
import { attr, equal, gather, reshape, type GraphBuilder, type Tensor } from '../graph/index'
import { decoderForward, sharedPrefixCausalBias, type ParamProvider } from '../models/llama'
import type { WeightsSource } from '../models/weights'
import { hostTensor } from '../runtime/session'
import { contextLimit, ModelGraphSession, openModelGraph, type InferenceOptions } from './model-session'
import { isTokenId, runInLengthBatches, targetLogprobs, type ScoreAllOptions } from './scoring'

export interface ChoiceItem {
  /** Token ids of the context: at least one (BOS for an empty context). */
  context: readonly number[]
  /** Token ids of each continuation: at least one continuation, of at least one token each. */
  continuations: readonly (readonly number[])[]
}

export interface ContinuationScore {
  /** Sum of tokenLogprobs. */
  logprob: number
  /** How many tokens the continuation has. */
  tokens: number
  /** Whether every continuation token is the argmax of its position (lm-eval's is_greedy). */
  greedy: boolean
  /** log p(token | context + the continuation's earlier tokens), one per continuation token. */
  tokenLogprobs: number[]
}

/**
 * batchTokens counts padded row tokens (an item's row: its context, then its continuations less
 * their last tokens); onProgress counts items.
 */
export type ScoreChoicesOptions = ScoreAllOptions

const CONTEXT_SEGMENT = 0
const PADDING_SEGMENT = -1

/**
 * Graph inputs input_ids, positions, segments (int64 [batch, seq], right-padded rows as packItem
 * lays them out), scored_at (int64 [scored]: flat index row · seq + position of the hidden state
 * that predicts each scored token) and targets (int64 [scored]); outputs target_logprobs
 * (float32 [scored]) and target_is_argmax (bool [scored]).
 */
export function buildChoiceScoringGraph(g: GraphBuilder, config: ModelConfig, param: ParamProvider): void {
  const inputIds = g.input('input_ids', 'int64', ['batch', 'seq'])
  const positions = g.input('positions', 'int64', ['batch', 'seq'])
  const segments = g.input('segments', 'int64', ['batch', 'seq'])
  const scoredAt = g.input('scored_at', 'int64', ['scored'])
  const targets = g.input('targets', 'int64', ['scored'])
  const weights = { param }
  const { hidden } = decoderForward(config, weights, {
    inputIds,
    positions,
    attentionBias: sharedPrefixCausalBias(segments)
  })
  const predicting = gather(reshape(hidden, [-1, config.hiddenSize]), scoredAt) // (N, E)
  const { logprobs, logits } = targetLogprobs(config, weights, predicting, targets)
  g.output(logprobs, 'target_logprobs')
  g.output(equal(argMaxLastAxis(logits), targets), 'target_is_argmax')
}

/** Index of the largest value along the last axis, the first one on ties (as torch.argmax). */
function argMaxLastAxis(x: Tensor): Tensor {
  return x.graph.node1({
    opType: 'ArgMax',
    inputs: [x],
    attrs: { axis: attr.int(-1), keepdims: attr.int(0), select_last_index: attr.int(0) },
    outputs: [{ dtype: 'int64', shape: x.shape ? x.shape.slice(0, -1) : null }]
  })
}

/** An item as one row of the graph's inputs. */
interface PackedItem {
  ids: number[]
  positions: number[]
  segments: number[]
  /** Per scored token, in continuation order: the row position that predicts it, and the token. */
  predictedFrom: number[]
  targets: number[]
  continuationLengths: number[]
}

function packItem({ context, continuations }: ChoiceItem): PackedItem {
  const ids = [...context]
  const positions = context.map((_, t) => t)
  const segments = context.map(() => CONTEXT_SEGMENT)
  const predictedFrom: number[] = []
  const targets: number[] = []
  continuations.forEach((continuation, j) => {
    let from = context.length - 1 // the context's last position predicts the first token
    continuation.forEach((token, t) => {
      predictedFrom.push(from)
      targets.push(token)
      if (t === continuation.length - 1) return // it predicts nothing that is scored
      from = ids.length
      ids.push(token)
      positions.push(context.length + t)
      segments.push(j + 1)
    })
  })
  return {
    ids,
    positions,
    segments,
    predictedFrom,
    targets,
    continuationLengths: continuations.map((c) => c.length)
  }
}

/** Throws unless the item fits the model's context and vocabulary, naming the item and continuation. */
function checkItem(item: ChoiceItem, index: number, config: ModelConfig): void {
  const where = `ChoiceScorer.scoreChoices: item ${index}`
  const { vocabSize } = config
  const badId = (ids: readonly number[], what: string): void => {
    const position = ids.findIndex((id) => !isTokenId(id, vocabSize))
    if (position >= 0) {
      throw new Error(
        `${where}${what}: id ${ids[position]} at position ${position} is not a token id (vocab ${vocabSize})`
      )
    }
  }
  if (item.context.length === 0) throw new Error(`${where} has no context tokens (start from BOS)`)
  if (item.continuations.length === 0) throw new Error(`${where} has no continuations`)
  badId(item.context, ' context')
  const limit = contextLimit(config)
  item.continuations.forEach((continuation, j) => {
    const what = ` continuation ${j}`
    if (continuation.length === 0) throw new Error(`${where}${what} has no tokens`)
    badId(continuation, what)
    if (item.context.length + continuation.length > limit) {
      throw new Error(
        `${where}${what}: ${item.context.length} context + ${continuation.length} continuation tokens exceed the model's ${limit} positions`
      )
    }
  })
}

/** A multiple-choice scoring session for one model (+ adapter). */
export class ChoiceScorer extends ModelGraphSession {
  /** `options.fused` is not used: the graph is built from standard ops (see the file's comment). */
  static async open(source: WeightsSource, options: InferenceOptions = {}): Promise<ChoiceScorer> {
    const { model, session } = await openModelGraph(
      source,
      'choices',
      (g, param, config) => buildChoiceScoringGraph(g, config, param),
      options
    )
    return new ChoiceScorer(model, session)
  }

  /**
   * Scores every continuation of every item; results per item, per continuation, in their order.
   * Items run in batches of similar row length of at most `batchTokens` padded tokens. Every item
   * is checked before any runs.
   */
  async scoreChoices(
    items: readonly ChoiceItem[],
    options: ScoreChoicesOptions = {}
  ): Promise<ContinuationScore[][]> {
    const { config } = this.model
    items.forEach((item, i) => checkItem(item, i, config))
    return runInLengthBatches(
      items.map(packItem),
      (packed) => packed.ids.length,
      (batch) => this.scorePacked(batch),
      { ...options, operation: 'ChoiceScorer.scoreChoices', vocabSize: config.vocabSize }
    )
  }

  /** Scores packed items as one right-padded batch. */
  private async scorePacked(items: readonly PackedItem[]): Promise<ContinuationScore[][]> {
    const seq = Math.max(...items.map((item) => item.ids.length))
    const batch = items.length
    const ids = new BigInt64Array(batch * seq).fill(BigInt(this.model.config.padTokenId ?? 0))
    const positions = new BigInt64Array(batch * seq)
    const segments = new BigInt64Array(batch * seq).fill(BigInt(PADDING_SEGMENT))
    const scoredAt: bigint[] = []
    const targets: bigint[] = []
    items.forEach((item, b) => {
      item.ids.forEach((id, t) => {
        ids[b * seq + t] = BigInt(id)
        positions[b * seq + t] = BigInt(item.positions[t])
        segments[b * seq + t] = BigInt(item.segments[t])
      })
      item.predictedFrom.forEach((t, k) => {
        scoredAt.push(BigInt(b * seq + t))
        targets.push(BigInt(item.targets[k]))
      })
    })
    const out = await this.session.run({
      input_ids: hostTensor('int64', [batch, seq], ids),
      positions: hostTensor('int64', [batch, seq], positions),
      segments: hostTensor('int64', [batch, seq], segments),
      scored_at: hostTensor('int64', [scoredAt.length], BigInt64Array.from(scoredAt)),
      targets: hostTensor('int64', [targets.length], BigInt64Array.from(targets))
    })
    const logprobs = out.target_logprobs.data as Float32Array
    const isArgmax = out.target_is_argmax.data as Uint8Array
    // Scored tokens come back in packing order: item, continuation, token.
    let next = 0
    return items.map((item) =>
      item.continuationLengths.map((length) => {
        const tokenLogprobs = Array.from(logprobs.subarray(next, next + length))
        const greedy = isArgmax.subarray(next, next + length).every((flag) => flag === 1)
        next += length
        return {
          logprob: tokenLogprobs.reduce((sum, value) => sum + value, 0),
          tokens: length,
          greedy,
          tokenLogprobs
        }
      })
    )
  }
}
