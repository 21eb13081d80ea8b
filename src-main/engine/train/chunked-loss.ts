/**
 * The LM head and the log-probabilities of the targets in chunks of tokens, so a step never holds
 * [tokens, vocab] logits whole: a Qwen2.5 vocabulary of 151,936 over 4 × 256 tokens is 622 MB per
 * float32 copy, and the loss and its gradient want several. Each chunk is a checkpoint segment
 * (GraphBuilder.checkpoint): its logits live only while the forward pass computes its log-probs,
 * and again while the backward pass recomputes them for that chunk's gradient.
 *
 * The tokens are padded to a multiple of the chunk count with zero rows (their values are dropped),
 * so the chunk count is fixed when the graph is built while the batch shape stays symbolic.
 */
import {
  add,
  concat,
  constantOfShape,
  div,
  gatherElements,
  gemm,
  logSoftmax,
  mul,
  reshape,
  shape,
  slice,
  split,
  squeeze,
  sub,
  unsqueeze,
  type Tensor
} from '../graph/index'

/** A chunk's logits stay below this many bytes where the chunk count allows (lossChunksFor). */
const CHUNK_LOGITS_BYTES = 64 * 2 ** 20
/** More chunks add per-chunk overhead for no saving worth having. */
const MAX_CHUNKS = 64

/** How many chunks keep a micro-batch's float32 logits under 64 MiB each (1: no chunking needed). */
export function lossChunksFor(batchSize: number, maxSeqLen: number, vocabSize: number): number {
  const bytes = batchSize * maxSeqLen * vocabSize * 4
  return Math.min(MAX_CHUNKS, Math.max(1, Math.ceil(bytes / CHUNK_LOGITS_BYTES)))
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
