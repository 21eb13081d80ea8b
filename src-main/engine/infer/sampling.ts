/**
 * Choosing the next token from logits: greedy, or sampling with temperature, top-k and top-p
 * (applied in that order, as transformers' logits warpers do), from our own seeded generator so a
 * seed gives the same text on every machine.
 */

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

/**
 * xoshiro128** (Blackman & Vigna, https://prng.di.unimi.it/) seeded through splitmix32: 32-bit
 * integer arithmetic only, so the stream is the same in every JS engine. Two outputs make one
 * 53-bit double.
 */
export function seededRandom(seed: number): Random {
  if (!Number.isSafeInteger(seed)) throw new Error(`seededRandom: seed must be an integer, got ${seed}`)
  let splitState = (seed ^ Math.floor(seed / 2 ** 32)) >>> 0
  const splitmix32 = (): number => {
    splitState = (splitState + 0x9e3779b9) >>> 0
    let z = splitState
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  const s = Uint32Array.from([splitmix32(), splitmix32(), splitmix32(), splitmix32()])
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0
    const t = s[1] << 9
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 11)
    return result
  }
  return () => ((next() >>> 5) * 2 ** 26 + (next() >>> 6)) / 2 ** 53
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
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
