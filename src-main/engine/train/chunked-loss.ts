/**
 * The LM head and the log-probabilities of the targets in chunks, so a step never holds
 * [tokens, vocab] logits whole: a Qwen2.5 vocabulary of 151,936 over 4 × 256 tokens is 622 MB per
 * float32 copy, and the loss and its gradient want several. Each chunk is a checkpoint segment
 * (GraphBuilder.checkpoint): its logits live only while the forward pass computes its part of the
 * loss, and again while the backward pass recomputes them for that chunk's gradient.
 *
 * Two ways to cut: chunks of tokens (chunkedTargetLogProbs) when the head is a float32 tensor the
 * Gemm reads as it is; chunks of the vocabulary (vocabChunkedTargetLogProbs) when the head is
 * decoded from a lower precision, so that only one chunk's rows of it are ever decoded (Qwen2.5-0.5B's
 * tied head is 545 MB in float32, Llama-3.2-1B's 1.05 GB, and decoding holds a few copies).
 */
import {
  add,
  concat,
  constantOfShape,
  div,
  exp,
  gatherElements,
  gemm,
  log,
  logSoftmax,
  mul,
  reduceMax,
  reduceSum,
  reshape,
  shape,
  slice,
  split,
  squeeze,
  stopGradient,
  sub,
  unsqueeze,
  type Tensor
} from '../graph/index'
import type { ModelConfig } from '../checkpoint/hf-config'
import type { BasePrecision } from '../models/base-precision'

/**
 * A chunk's logits (and, for a decoded head, its rows of the head) stay below this many bytes where
 * the chunk count allows (lossChunksFor).
 */
const CHUNK_BYTES = 64 * 2 ** 20
/** More chunks add per-chunk overhead for no saving worth having. */
const MAX_CHUNKS = 64

/**
 * How many chunks a run's step graph cuts its loss into (the trainer's choice, which the memory
 * estimate and the benches follow): none without recomputation (a run from before these settings
 * resumes with the graphs it had); otherwise enough to keep a micro-batch's float32 logits under
 * 64 MiB per chunk, and, for a head decoded from a lower precision (cut by vocabulary), each
 * chunk's decoded rows of it too.
 */
export function lossChunksFor(
  model: Pick<ModelConfig, 'vocabSize' | 'hiddenSize'>,
  run: { batchSize: number; maxSeqLen: number; basePrecision: BasePrecision; recompute: boolean }
): number {
  if (!run.recompute) return 1
  const logits = run.batchSize * run.maxSeqLen * model.vocabSize * 4
  const head = run.basePrecision === 'fp32' ? 0 : model.vocabSize * model.hiddenSize * 4
  return Math.min(MAX_CHUNKS, Math.max(1, Math.ceil(Math.max(logits, head) / CHUNK_BYTES)))
}

/**
 * log p(target) for every token: `rows` the final hidden states [N, E] (N = B·S, flattened), `head`
 * the LM head matrix [V, E] (one tensor for every chunk: a head stored in a lower precision is
 * decoded once in the forward pass and once in the backward pass, not once per chunk), `targets` int64 [B, S] (valid indices everywhere). Returns
 * [B, S], as gathering from the whole log-softmax would.
 */
export function chunkedTargetLogProbs(rows: Tensor, head: Tensor, targets: Tensor, chunks: number): Tensor {
  const g = rows.graph
  const E = rows.shape?.[1]
  if (rows.rank !== 2 || typeof E !== 'number')
    throw new Error(`chunked loss: rows ${rows} must be [tokens, E]`)
  const tokens = shape(rows, 0, 1) // [N]
  const perChunk = div(add(tokens, chunks - 1), chunks) // [c]
  const padding = sub(mul(perChunk, chunks), tokens) // [k·c − N]
  const paddedRows = concat(
    [rows, constantOfShape(concat([padding, g.int64s([E])], 0), 0, 'float32', [null, E])],
    0
  )
  const flatTargets = reshape(targets, [-1])
  const paddedTargets = concat([flatTargets, constantOfShape(padding, 0, 'int64', [null])], 0)
  const rowChunks = split(reshape(paddedRows, [chunks, -1, E]), chunks, 0) // k × (1, c, E)
  const targetChunks = split(reshape(paddedTargets, [chunks, -1]), chunks, 0) // k × (1, c)
  const logProbs = rowChunks.map((chunk, i) =>
    g.checkpoint(() => {
      const logits = gemm(reshape(chunk, [-1, E]), head, null, { transB: true }) // (c, V)
      const picked = gatherElements(logSoftmax(logits, -1), unsqueeze(reshape(targetChunks[i], [-1]), [1]), 1)
      return squeeze(picked, [1]) // (c)
    })
  )
  const all = slice(concat(logProbs, 0), g.int64s([0]), tokens, g.int64s([0])) // (N)
  return reshape(all, shape(targets), targets.shape)
}

/**
 * log p(target) [B, S] as chunkedTargetLogProbs gives it, for a head decoded from a lower precision:
 * `chunks` chunks of the vocabulary, each a checkpoint segment that decodes only its rows of the head
 * (`headRows([start, end), near)`) and reduces every token's logits over them to a log-sum-exp; the
 * chunks' log-sum-exps combine into the whole vocabulary's. A target's own logit is its row of the
 * head (`targetRows(ids)`, the embedding lookup that decodes just those rows) times the hidden state.
 */
export function vocabChunkedTargetLogProbs(
  rows: Tensor,
  head: {
    vocabSize: number
    headRows: (range: readonly [number, number], near: Tensor) => Tensor
    targetRows: (ids: Tensor) => Tensor
  },
  targets: Tensor,
  chunks: number
): Tensor {
  const g = rows.graph
  if (rows.rank !== 2) throw new Error(`chunked loss: rows ${rows} must be [tokens, E]`)
  const perChunk = Math.ceil(head.vocabSize / chunks)
  const logSumExps: Tensor[] = []
  for (let start = 0; start < head.vocabSize; start += perChunk) {
    const end = Math.min(head.vocabSize, start + perChunk)
    logSumExps.push(
      g.checkpoint(() => logSumExp(gemm(rows, head.headRows([start, end], rows), null, { transB: true }), 1))
    ) // (N, 1) each
  }
  const normalizer = squeeze(logSumExp(concat(logSumExps, 1), 1), [1]) // (N)
  const flatTargets = reshape(targets, [-1])
  const targetLogits = reduceSum(mul(rows, head.targetRows(flatTargets)), [1], { keepDims: false }) // (N)
  return reshape(sub(targetLogits, normalizer), shape(targets), targets.shape)
}

/** log Σ exp(x) along `axis`, kept as size 1, shifted by the (constant) maximum for range. */
function logSumExp(x: Tensor, axis: number): Tensor {
  const peak = stopGradient(reduceMax(x, [axis]))
  return add(peak, log(reduceSum(exp(sub(x, peak)), [axis])))
}
