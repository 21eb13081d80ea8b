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
  const { topK, topP } = truncation(options)
  const max = maxOf(logits)
  // Only the likely tokens are sorted (a vocabulary of 150k per token and row would dominate a
  // batch of rollouts): all of them when a likely set cannot decide the top-k or the nucleus.
  const likely = sortedTokens(logits, (logit) => logit >= max + temperature * NEGLIGIBLE_LOG_WEIGHT)
  const weightOf = (token: number) => Math.exp((logits[token] - max) / temperature)
  const everyMass = topK > 0 ? 0 : sumWeights(logits, max, temperature)
  const decides = topK > 0 ? likely.length >= topK : topP < 1 && massOf(likely, weightOf) >= topP * everyMass
  const order = decides ? likely : sortedTokens(logits, () => true)
  const kept = topK > 0 ? order.slice(0, topK) : order
  let weights = kept.map(weightOf)
  let total = topK > 0 || !decides ? weights.reduce((sum, w) => sum + w, 0) : everyMass
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

/** Below e^−40 of the likeliest token's weight a token's share is under 10⁻¹⁷: it cannot be drawn. */
const NEGLIGIBLE_LOG_WEIGHT = -40

function truncation(options: SamplingOptions): { topK: number; topP: number } {
  const topK = options.topK ?? 0
  const topP = options.topP ?? 1
  if (!Number.isInteger(topK) || topK < 0)
    throw new Error(`sampling: top-k must be a whole number ≥ 0, got ${topK}`)
  if (!(topP > 0 && topP <= 1)) throw new Error(`sampling: top-p must be in (0, 1], got ${topP}`)
  return { topK, topP }
}

function maxOf(logits: ArrayLike<number>): number {
  let max = -Infinity
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i]
  return max
}

function sumWeights(logits: ArrayLike<number>, max: number, temperature: number): number {
  let total = 0
  for (let i = 0; i < logits.length; i++) total += Math.exp((logits[i] - max) / temperature)
  return total
}

function massOf(tokens: readonly number[], weightOf: (token: number) => number): number {
  return tokens.reduce((sum, token) => sum + weightOf(token), 0)
}

/** The tokens whose logit passes `keep`, most likely first (the lower id first on ties). */
function sortedTokens(logits: ArrayLike<number>, keep: (logit: number) => boolean): number[] {
  const tokens: number[] = []
  for (let i = 0; i < logits.length; i++) if (keep(logits[i])) tokens.push(i)
  return tokens.sort((a, b) => logits[b] - logits[a] || a - b)
}

/**
 * The entropy (nats) of what sampling at `temperature` draws from, softmax(logits / temperature)
 * over the whole vocabulary (top-k and top-p not applied): the "temperature-adjusted entropy" that
 * AceReason-Nemotron 1.1 keeps near 0.3 by its choice of temperature. 0 for greedy decoding.
 */
export function samplingEntropy(logits: ArrayLike<number>, temperature: number): number {
  if (!(temperature > 0)) return 0
  const max = maxOf(logits)
  let total = 0
  let weighted = 0
  for (let i = 0; i < logits.length; i++) {
    const scaled = (logits[i] - max) / temperature
    const weight = Math.exp(scaled)
    total += weight
    weighted += weight * scaled
  }
  // H = −Σ p·log p with p = w/Z and log p = scaled − log Z.
  return Math.log(total) - weighted / total
}

/**
 * A draw from softmax(logits / temperature) over the whole vocabulary without sorting it: the
 * tokens in id order, each taking its share of [0, 1).
 */
function drawFromSoftmax(logits: ArrayLike<number>, temperature: number, u: number): number {
  const max = maxOf(logits)
  let left = u * sumWeights(logits, max, temperature)
  let last = 0
  for (let i = 0; i < logits.length; i++) {
    const weight = Math.exp((logits[i] - max) / temperature)
    if (weight === 0) continue
    last = i
    left -= weight
    if (left < 0) return i
  }
  return last // rounding left a hair above 0
}

/**
 * The next token: argmax when temperature is 0; a draw from the whole softmax without top-k or
 * top-p; else a draw from candidateDistribution.
 */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, random: Random): number {
  if (options.temperature === 0) return argmax(logits)
  if (options.temperature < 0)
    throw new Error(`sampling: temperature must be ≥ 0, got ${options.temperature}`)
  const { topK, topP } = truncation(options)
  if (topK === 0 && topP === 1) return drawFromSoftmax(logits, options.temperature, random())
  const { tokens, probs } = candidateDistribution(logits, options)
  let u = random()
  for (let i = 0; i < tokens.length; i++) {
    u -= probs[i]
    if (u < 0) return tokens[i]
  }
  return tokens[tokens.length - 1] // rounding left u a hair above 0
}
