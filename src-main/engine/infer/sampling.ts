/**
 * Choosing the next token from logits: greedy, or sampling with temperature, top-k and top-p
 * (applied in that order, as transformers' logits warpers do), from our own seeded generator so a
 * seed gives the same text on every machine.
 */
import { Rng } from '../rng'

export interface SamplingOptions {
  /** 0 = greedy (argmax). */
  temperature: number
  /** Keep only the k most likely tokens; 0 or undefined = no limit. */
  topK?: number
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 or undefined = all. */
  topP?: number
}

/** A uniform generator on [0, 1). */
export type Random = () => number

/** The engine's seeded generator (xoshiro128**), so a seed gives the same text on every machine. */
export function seededRandom(seed: number): Random {
  const rng = Rng.fromSeed(seed)
  return () => rng.float()
}

/** Index of the largest logit (the first one on ties). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i
  return best
}

/**
 * The tokens sampling may pick and their probabilities (summing to 1), most likely first: softmax
 * of logits/temperature, cut to the top k, then to the nucleus of mass top-p.
 */
export function candidateDistribution(
  logits: ArrayLike<number>,
  options: SamplingOptions
): { tokens: number[]; probs: number[] } {
  const { temperature } = options
  if (!(temperature > 0))
    throw new Error(`candidateDistribution: temperature must be > 0, got ${temperature}`)
  const topK = options.topK ?? 0
  const topP = options.topP ?? 1
  if (!Number.isInteger(topK) || topK < 0)
    throw new Error(`sampling: top-k must be a whole number ≥ 0, got ${topK}`)
  if (!(topP > 0 && topP <= 1)) throw new Error(`sampling: top-p must be in (0, 1], got ${topP}`)
  const order = Array.from({ length: logits.length }, (_, i) => i).sort(
    (a, b) => logits[b] - logits[a] || a - b
  )
  const kept = topK > 0 ? order.slice(0, topK) : order
  const max = logits[kept[0]]
  let weights = kept.map((token) => Math.exp((logits[token] - max) / temperature))
  let total = weights.reduce((sum, w) => sum + w, 0)
  let tokens = kept
  if (topP < 1) {
    let mass = 0
    let count = 0
    while (count < weights.length && mass < topP * total) mass += weights[count++]
    tokens = kept.slice(0, count)
    weights = weights.slice(0, count)
    total = mass
  }
  return { tokens, probs: weights.map((w) => w / total) }
}

/** The next token: argmax when temperature is 0, else a draw from candidateDistribution. */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, random: Random): number {
  if (options.temperature === 0) return argmax(logits)
  if (options.temperature < 0)
    throw new Error(`sampling: temperature must be ≥ 0, got ${options.temperature}`)
  const { tokens, probs } = candidateDistribution(logits, options)
  let u = random()
  for (let i = 0; i < tokens.length; i++) {
    u -= probs[i]
    if (u < 0) return tokens[i]
  }
  return tokens[tokens.length - 1] // rounding left u a hair above 0
}
