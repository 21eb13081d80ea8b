/**
 * Python's `random.Random` (Mersenne Twister MT19937), reproduced draw for draw for the calls
 * lm-eval makes: `Random(seed)` with an integer seed, `sample` (few-shot examples) and `choices`
 * (bootstrap standard errors). With the same seed and pool we pick the same few-shot examples and
 * get the same bootstrap errors as lm-eval, so results stay comparable with published ones.
 *
 * The algorithms are the published ones (Matsumoto & Nishimura's MT19937 with `init_by_array`,
 * CPython's documented seeding of an int, its 53-bit `random()`, and `sample`'s two strategies);
 * `test/eval/tasks/python-random.test.ts` pins them against values printed by CPython.
 */

const N = 624
const M = 397
const MATRIX_A = 0x9908b0df
const UPPER_MASK = 0x80000000
const LOWER_MASK = 0x7fffffff

export class PythonRandom {
  private readonly state = new Uint32Array(N)
  private index = N + 1

  /** `random.Random(seed)` for an integer seed (CPython seeds with the absolute value). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new Error(`PythonRandom: the seed must be an integer, got ${seed}`)
    this.seedByArray(wordsOf(Math.abs(seed)))
  }

  /** A float in [0, 1) from 53 random bits, as CPython's `random()`. */
  random(): number {
    const a = this.next32() >>> 5
    const b = this.next32() >>> 6
    return (a * 67108864 + b) / 9007199254740992
  }

  /** `getrandbits(k)` for 0 ≤ k ≤ 32. */
  getrandbits(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > 32)
      throw new Error(`PythonRandom.getrandbits: k must be 0..32, got ${k}`)
    if (k === 0) return 0
    return this.next32() >>> (32 - k)
  }

  /** A uniform integer in [0, n): CPython's `_randbelow_with_getrandbits` (rejection sampling). */
  randbelow(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0xffffffff)
      throw new Error(`PythonRandom.randbelow: n must be 1..2^32-1, got ${n}`)
    const k = bitLength(n)
    let r = this.getrandbits(k)
    while (r >= n) r = this.getrandbits(k)
    return r
  }

  /** `sample(population, k)`: k distinct elements in selection order. */
  sample<T>(population: readonly T[], k: number): T[] {
    const n = population.length
    if (!Number.isInteger(k) || k < 0 || k > n)
      throw new Error(`sample: cannot draw ${k} from a population of ${n}`)
    // CPython picks the strategy by comparing n with the size of a set of k entries.
    let setSize = 21
    if (k > 5) setSize += 4 ** Math.ceil(Math.log(k * 3) / Math.log(4))
    const result: T[] = []
    if (n <= setSize) {
      const pool = population.slice()
      for (let i = 0; i < k; i++) {
        const j = this.randbelow(n - i)
        result.push(pool[j])
        pool[j] = pool[n - i - 1]
      }
    } else {
      const selected = new Set<number>()
      for (let i = 0; i < k; i++) {
        let j = this.randbelow(n)
        while (selected.has(j)) j = this.randbelow(n)
        selected.add(j)
        result.push(population[j])
      }
    }
    return result
  }

  /** `choices(population, k=k)`: k draws with replacement. */
  choices<T>(population: readonly T[], k: number): T[] {
    const n = population.length
    const result: T[] = new Array(k)
    for (let i = 0; i < k; i++) result[i] = population[Math.floor(this.random() * n)]
    return result
  }

  private seedByArray(key: readonly number[]): void {
    const mt = this.state
    mt[0] = 19650218
    for (let i = 1; i < N; i++) mt[i] = (Math.imul(1812433253, mt[i - 1] ^ (mt[i - 1] >>> 30)) + i) >>> 0
    let i = 1
    let j = 0
    for (let k = Math.max(N, key.length); k > 0; k--) {
      mt[i] = ((mt[i] ^ Math.imul(mt[i - 1] ^ (mt[i - 1] >>> 30), 1664525)) + key[j] + j) >>> 0
      i++
      j++
      if (i >= N) {
        mt[0] = mt[N - 1]
        i = 1
      }
      if (j >= key.length) j = 0
    }
    for (let k = N - 1; k > 0; k--) {
      mt[i] = ((mt[i] ^ Math.imul(mt[i - 1] ^ (mt[i - 1] >>> 30), 1566083941)) - i) >>> 0
      i++
      if (i >= N) {
        mt[0] = mt[N - 1]
        i = 1
      }
    }
    mt[0] = 0x80000000
    this.index = N
  }

  private next32(): number {
    const mt = this.state
    if (this.index >= N) {
      for (let k = 0; k < N; k++) {
        const y = (mt[k] & UPPER_MASK) | (mt[(k + 1) % N] & LOWER_MASK)
        mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0)
      }
      this.index = 0
    }
    let y = mt[this.index++]
    y ^= y >>> 11
    y ^= (y << 7) & 0x9d2c5680
    y ^= (y << 15) & 0xefc60000
    y ^= y >>> 18
    return y >>> 0
  }
}

/** A non-negative integer as 32-bit words, least significant first (at least one word). */
function wordsOf(value: number): number[] {
  const words = [value % 0x100000000]
  for (let rest = Math.floor(value / 0x100000000); rest > 0; rest = Math.floor(rest / 0x100000000))
    words.push(rest % 0x100000000)
  return words
}

function bitLength(n: number): number {
  return 32 - Math.clz32(n)
}
