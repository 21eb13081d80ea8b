/**
 * UDS, utility-diversity sampling: online batch selection for SFT. Every batch the stream yields is
 * a batch of candidates; a forward-only pass with the current weights scores each candidate, the
 * best-scoring fraction trains with plain SFT, and the rest is skipped for this step.
 *
 * Paper: "Utility-Diversity Aware Online Batch Selection for LLM Supervised Fine-tuning", 2025,
 * arXiv:2510.16882. The rule below is the authors' released trainer (github.com/gfyddha/UDS,
 * UDSamplingTrainer.py, `compute_top_index`):
 *
 *   utility   u_i = ‖L_i‖_*        the nuclear norm of candidate i's logits matrix L_i [tokens × V]
 *   diversity d_i = mean_m ‖z_i − z_m‖₂  over the memory of past chosen candidates (0 when empty)
 *   score     s_i = u_i + α·d_i,   keep the top K of the candidate batch
 *
 * where z_i is a low-dimensional random projection of L_i and the memory is a FIFO of the last
 * `memory_size` chosen candidates' z. Defaults from the released MMLU script (scripts/run_mmlu.sh):
 * α = 1.5e-3, memory 1024, 1 of every 4 candidates kept.
 *
 * Where this recipe differs, and why: the engine has no in-graph SVD, and a [tokens × V] matrix per
 * row is too large to copy out of the graph, so the graph multiplies the logits by a fixed random
 * ±1/√r matrix R [V × r] (a Johnson–Lindenstrauss sketch, r = 16) and the nuclear norm is taken of
 * L_i·R in JS (exact, from the eigenvalues of its r × r Gram matrix): an estimate of ‖L_i‖_* that
 * keeps its meaning (large and spread singular values score high). z_i is the mean row of L_i·R,
 * where the released code uses a two-sided randomized Fourier projection (8 × 128). Only the
 * logits that predict trained tokens count; the released script trains on every token.
 */
import { matmul, mul, unsqueeze, type Tensor } from '../engine/graph/index'
import type { LossContext } from '../engine/train/loss-hook'
import type { CandidateStatistic } from '../engine/train/run-hooks'
import { Rng } from '../engine/rng'
import { sft } from './sft'
import type { Recipe } from './types'

export type UdsParams = { keep_fraction: number; diversity_weight: number; memory_size: number }

/** Columns of the logits sketch. */
export const SKETCH_DIM = 16
/** The sketch matrix is the same in every run, so a run's choice depends only on its data and weights. */
const SKETCH_SEED = 2510_16882

/** The recipe state: the sketched features of the last chosen candidates, oldest first. */
type UdsState = { memory: number[][] }

/** One candidate's statistics, as `choose` derives them from the scoring pass. */
export interface CandidateScore {
  utility: number
  feature: number[]
}

export const uds: Recipe<UdsParams> = {
  name: 'uds',
  title: 'UDS (utility-diversity batch selection)',
  summary:
    'Online batch selection: each batch is a set of candidates that the current model scores ' +
    'forward-only, and only the best-scoring fraction trains (plain SFT). A candidate scores high ' +
    'when its logits matrix has a large nuclear norm (informative and varied tokens) and when it is ' +
    'far from the candidates chosen recently. The rule and defaults are the authors\u2019 released ' +
    'code; the nuclear norm is estimated on a 16-column random sketch of the logits and the ' +
    'diversity uses the sketch\u2019s mean row, since the full logits matrix is too large to ' +
    'decompose per sample here. The batch size is the candidate batch: raise it as the kept fraction falls.',
  paper: {
    title: 'Utility-Diversity Aware Online Batch Selection for LLM Supervised Fine-tuning',
    authors: 'see arXiv:2510.16882',
    year: 2025,
    arxiv: '2510.16882',
    url: 'https://arxiv.org/abs/2510.16882'
  },
  group: 'selection',
  params: [
    {
      name: 'keep_fraction',
      description: 'Share of each candidate batch that trains (at least one row)',
      type: 'number',
      default: 0.25,
      min: 0.01,
      max: 1
    },
    {
      name: 'diversity_weight',
      description: 'α, the weight of the distance to the memory against the nuclear-norm utility',
      type: 'number',
      default: 1.5e-3,
      min: 0,
      max: 1000
    },
    {
      name: 'memory_size',
      description: 'How many recently chosen candidates the diversity is measured against',
      type: 'integer',
      default: 1024,
      min: 1,
      max: 4096
    }
  ],
  needs: {},
  loss: sft.loss,
  initialState: () => ({ memory: [] }),
  selectBatch: {
    stage: 'before-step',
    statistics: sketchStatistics,
    choose: (state, statistics, params) => {
      const scores = candidateScores(statistics)
      const memory = (state as UdsState).memory
      const rows = topCandidates(scores, memory, params)
      const chosen = rows.map((row) => scores[row].feature)
      return { rows, state: { memory: [...memory, ...chosen].slice(-params.memory_size) } }
    }
  }
}

/** The logits sketched by R [V × r] and masked to the trained positions [B, S, r], with the mask [B, S]. */
function sketchStatistics(logits: Tensor, ctx: LossContext<UdsParams>): Record<string, Tensor> {
  const vocab = logits.shape?.[2]
  if (typeof vocab !== 'number') throw new Error(`uds: the logits ${logits} need a known vocabulary size`)
  const sketch = logits.graph.constant(logits.dtype, [vocab, SKETCH_DIM], sketchMatrix(vocab))
  const masked = mul(matmul(logits, sketch), unsqueeze(ctx.labelMask, [2])) // (B, S, r)
  return { sketch: masked, mask: ctx.labelMask }
}

/** R [V × r]: seeded ±1/√r entries, so E‖xR‖² = ‖x‖². */
export function sketchMatrix(vocab: number): Float32Array {
  const rng = Rng.fromSeed(SKETCH_SEED)
  const scale = 1 / Math.sqrt(SKETCH_DIM)
  return Float32Array.from({ length: vocab * SKETCH_DIM }, () => (rng.float() < 0.5 ? -scale : scale))
}

/** Each row's utility (nuclear norm of its sketch) and feature (the sketch's mean trained row). */
export function candidateScores(statistics: Readonly<Record<string, CandidateStatistic>>): CandidateScore[] {
  const { sketch, mask } = statistics
  if (!sketch || !mask) throw new Error('uds: the scoring pass returned no sketch or mask')
  const [rows, columns, dim] = sketch.shape
  return Array.from({ length: rows }, (_, b) => {
    const trained: number[][] = []
    for (let t = 0; t < columns; t++) {
      if (mask.data[b * columns + t] === 0) continue
      const start = (b * columns + t) * dim
      trained.push(Array.from(sketch.data.subarray(start, start + dim)))
    }
    // `+ 0` turns −0 into 0: the feature goes into the JSON state, which cannot keep −0.
    const feature = Array.from({ length: dim }, (_, j) =>
      trained.length === 0 ? 0 : trained.reduce((sum, row) => sum + row[j], 0) / trained.length + 0
    )
    return { utility: nuclearNorm(trained, dim), feature }
  })
}

/**
 * The `keep_fraction` best rows (at least one) by u + α·d, in row order; the earlier row wins a tie.
 */
export function topCandidates(
  scores: readonly CandidateScore[],
  memory: readonly number[][],
  params: UdsParams
): number[] {
  const keep = Math.min(scores.length, Math.max(1, Math.round(params.keep_fraction * scores.length)))
  const total = scores.map(
    ({ utility, feature }) => utility + params.diversity_weight * meanDistance(feature, memory)
  )
  const ranked = total.map((_, i) => i).sort((a, b) => total[b] - total[a] || a - b)
  return ranked.slice(0, keep).sort((a, b) => a - b)
}

/** Mean Euclidean distance from `feature` to the memory's entries; 0 for an empty memory. */
export function meanDistance(feature: readonly number[], memory: readonly number[][]): number {
  if (memory.length === 0) return 0
  const distance = (other: readonly number[]) =>
    Math.sqrt(feature.reduce((sum, x, j) => sum + (x - other[j]) ** 2, 0))
  return memory.reduce((sum, other) => sum + distance(other), 0) / memory.length
}

/** Σ singular values of the matrix with rows `rows` (each `dim` long): Σ √λ over its Gram matrix. */
export function nuclearNorm(rows: readonly number[][], dim: number): number {
  const gram = Array.from({ length: dim }, (_, i) =>
    Array.from({ length: dim }, (_, j) => rows.reduce((sum, row) => sum + row[i] * row[j], 0))
  )
  return symmetricEigenvalues(gram).reduce((sum, lambda) => sum + Math.sqrt(Math.max(lambda, 0)), 0)
}

/** Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (small matrices; deterministic). */
function symmetricEigenvalues(matrix: number[][]): number[] {
  const a = matrix.map((row) => [...row])
  const n = a.length
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] ** 2
    if (off < 1e-30) break
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (a[p][q] === 0) continue
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(t * t + 1)
        const s = t * c
        for (let k = 0; k < n; k++) {
          const akp = a[k][p]
          const akq = a[k][q]
          a[k][p] = c * akp - s * akq
          a[k][q] = s * akp + c * akq
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k]
          const aqk = a[q][k]
          a[p][k] = c * apk - s * aqk
          a[q][k] = s * apk + c * aqk
        }
      }
    }
  }
  return a.map((row, i) => row[i])
}
