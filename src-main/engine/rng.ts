/**
 * The trainer's seeded random numbers: xoshiro128** (Blackman & Vigna, https://prng.di.unimi.it/),
 * 128 bits of state in four uint32 words. The whole state is four numbers, so a checkpoint stores
 * it as JSON and a resumed run draws exactly the numbers an uninterrupted run would have drawn.
 *
 * Seeding runs the seed words (and optional stream ids, e.g. an epoch number) through a
 * splitmix-style mixer, so nearby seeds and streams give unrelated sequences and the state is
 * never all zero (the one state xoshiro cannot leave).
 */

export const RNG_ALGORITHM = 'xoshiro128**'

/** A generator's complete state; JSON-serialisable. */
export interface RngState {
  algorithm: typeof RNG_ALGORITHM
  /** The four uint32 state words. */
  words: [number, number, number, number]
}

const TWO_POW_32 = 4294967296

export class Rng {
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  private constructor(words: readonly number[]) {
    ;[this.s0, this.s1, this.s2, this.s3] = words.map((w) => w >>> 0)
  }

  /**
   * A generator for a seed (a non-negative safe integer) and optional stream ids: the same seed
   * and streams always give the same sequence, different streams independent-looking ones.
   */
  static fromSeed(seed: number, ...streams: readonly number[]): Rng {
    for (const value of [seed, ...streams]) {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new Error(`Rng.fromSeed: seeds and streams must be non-negative safe integers, got ${value}`)
      }
    }
    const mixer = new SeedMixer()
    for (const value of [seed, ...streams]) {
      mixer.absorb(value % TWO_POW_32)
      mixer.absorb(Math.floor(value / TWO_POW_32))
    }
    const words = [mixer.next(), mixer.next(), mixer.next(), mixer.next()]
    if (!words.some((w) => w !== 0)) words[0] = 1
    return new Rng(words)
  }

  static fromState(state: RngState): Rng {
    const words = state?.words
    if (state?.algorithm !== RNG_ALGORITHM || !Array.isArray(words) || words.length !== 4) {
      throw new Error(`Rng.fromState: expected {algorithm: "${RNG_ALGORITHM}", words: [4 uint32]}`)
    }
    for (const w of words) {
      if (!Number.isInteger(w) || w < 0 || w >= TWO_POW_32) {
        throw new Error(`Rng.fromState: state word ${w} is not a uint32`)
      }
    }
    if (words.every((w) => w === 0)) throw new Error('Rng.fromState: the all-zero state is invalid')
    return new Rng(words)
  }

  /** A copy of the current state (drawing more numbers does not change it). */
  state(): RngState {
    return { algorithm: RNG_ALGORITHM, words: [this.s0, this.s1, this.s2, this.s3] }
  }

  /** The next uint32 of the sequence. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0
    const t = (this.s1 << 9) >>> 0
    this.s2 = (this.s2 ^ this.s0) >>> 0
    this.s3 = (this.s3 ^ this.s1) >>> 0
    this.s1 = (this.s1 ^ this.s2) >>> 0
    this.s0 = (this.s0 ^ this.s3) >>> 0
    this.s2 = (this.s2 ^ t) >>> 0
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /** Uniform in [0, 1) with 53 random bits (every double of the form k·2⁻⁵³). */
  float(): number {
    const high = this.nextUint32() >>> 5 // 27 bits
    const low = this.nextUint32() >>> 6 // 26 bits
    return (high * 67108864 + low) / 9007199254740992
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    if (!(high > low)) throw new Error(`Rng.uniform: need low < high, got [${low}, ${high})`)
    return low + (high - low) * this.float()
  }

  /** A uniform integer in [0, n), without modulo bias; n ≤ 2³². */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`)
    }
    // Draws at or above the largest multiple of n below 2³² would favour small results.
    const limit = TWO_POW_32 - (TWO_POW_32 % n)
    for (;;) {
      const x = this.nextUint32()
      if (x < limit) return x % n
    }
  }

  /** Shuffles `items` in place (Fisher–Yates, from the end) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const held = items[i]
      items[i] = items[j]
      items[j] = held
    }
    return items
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

/** splitmix32-style mixing: absorbs seed words, then emits well-mixed state words. */
class SeedMixer {
  private state = 0x9e3779b9

  absorb(word: number): void {
    this.state = (this.state ^ mix32(word >>> 0)) >>> 0
    this.next()
  }

  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0
    return mix32(this.state)
  }
}

function mix32(value: number): number {
  let z = value >>> 0
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}
