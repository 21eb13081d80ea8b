/**
 * Near-duplicate detection: MinHash signatures over word shingles, LSH banding for candidates,
 * and union-find for groups.
 *
 *   text      every turn's content (chosen and rejected), lower-cased, split into words
 *   shingles  runs of k consecutive words, each hashed to 32 bits (FNV-1a)
 *   signature for each of n hash functions h_i(x) = fmix32(x XOR seed_i), the minimum over the
 *             shingles; P[sig_a[i] = sig_b[i]] is the Jaccard similarity of the shingle sets
 *   banding   the signature cut into b bands of r rows; two samples whose band agrees somewhere
 *             become candidates. A pair of similarity s is a candidate with probability
 *             1 − (1 − s^r)^b, an S-curve whose midpoint (1/b)^(1/r) is set just below the threshold
 *   verify    candidates are kept when the share of equal signature rows reaches the threshold
 *
 * In a band bucket each member is verified against the bucket's representatives: the first member
 * of each cluster the bucket holds that did not verify against an earlier one. A bucket of m
 * samples in c clusters thus costs about m·c comparisons rather than m², and a member similar to
 * any cluster of the bucket (not just its first member's) is found; the representatives per bucket
 * are capped (MAX_BUCKET_REPRESENTATIVES) so a degenerate bucket of many dissimilar texts stays
 * linear. A group's similarity is the lowest over the links that formed it.
 */

export interface MinHashOptions {
  threshold: number
  shingleWords: number
  numHashes: number
}

export interface NearDuplicateGroup {
  /** Positions in the input, ascending. */
  members: number[]
  similarity: number
}

/** The finalizer of MurmurHash3: a 32-bit bijection that mixes every input bit into every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  return hash >>> 0
}

/** Hashes of the k-word shingles of a text (a text shorter than k words is one shingle). */
export function shingleHashes(text: string, k: number): Set<number> {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []
  const hashes = new Set<number>()
  if (words.length === 0) return hashes
  const last = Math.max(0, words.length - k)
  for (let i = 0; i <= last; i++) hashes.add(fnv1a(words.slice(i, i + k).join(' ')))
  return hashes
}

export class MinHasher {
  private readonly seeds: Uint32Array

  constructor(readonly numHashes: number) {
    this.seeds = new Uint32Array(numHashes)
    // Fixed seeds: signatures are comparable across runs.
    for (let i = 0; i < numHashes; i++) this.seeds[i] = fmix32(0x9e3779b9 ^ Math.imul(i + 1, 0x01000193))
  }

  signature(shingles: ReadonlySet<number>): Uint32Array {
    const signature = new Uint32Array(this.numHashes).fill(0xffffffff)
    for (const shingle of shingles) {
      for (let i = 0; i < this.numHashes; i++) {
        const h = fmix32(shingle ^ this.seeds[i])
        if (h < signature[i]) signature[i] = h
      }
    }
    return signature
  }
}

/** Estimated Jaccard similarity: the share of equal rows. */
export function estimatedSimilarity(a: Uint32Array, b: Uint32Array): number {
  let equal = 0
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) equal++
  return equal / a.length
}

/**
 * Bands × rows for n hashes whose S-curve midpoint (1/b)^(1/r) is the highest one not above the
 * threshold (a low midpoint finds more candidates; verification removes the false ones).
 */
export function chooseBands(numHashes: number, threshold: number): { bands: number; rows: number } {
  let best = { bands: numHashes, rows: 1, midpoint: 1 / numHashes }
  for (let rows = 1; rows <= numHashes; rows++) {
    const bands = Math.floor(numHashes / rows)
    const midpoint = (1 / bands) ** (1 / rows)
    if (midpoint <= threshold && midpoint > best.midpoint) best = { bands, rows, midpoint }
  }
  return { bands: best.bands, rows: best.rows }
}

class UnionFind {
  private readonly parent: Int32Array
  readonly lowest: Float64Array

  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i)
    this.lowest = new Float64Array(n).fill(1)
  }

  find(x: number): number {
    while (this.parent[x] !== x) {
      this.parent[x] = this.parent[this.parent[x]]
      x = this.parent[x]
    }
    return x
  }

  union(a: number, b: number, similarity: number): void {
    const ra = this.find(a)
    const rb = this.find(b)
    const lowest = Math.min(this.lowest[ra], this.lowest[rb], similarity)
    if (ra !== rb) this.parent[rb] = ra
    this.lowest[ra] = lowest
  }
}

/** Clusters per band bucket that new members are verified against (see the header). */
export const MAX_BUCKET_REPRESENTATIVES = 8

/**
 * Groups of near-duplicate texts. `signatures[i]` belongs to input i; inputs without shingles
 * (empty texts) take part in no group.
 */
export function nearDuplicateGroups(
  signatures: readonly (Uint32Array | null)[],
  options: Pick<MinHashOptions, 'threshold' | 'numHashes'>
): NearDuplicateGroup[] {
  const { bands, rows } = chooseBands(options.numHashes, options.threshold)
  const sets = new UnionFind(signatures.length)
  const linked = new Uint8Array(signatures.length)
  for (let band = 0; band < bands; band++) {
    const buckets = new Map<string, number[]>()
    signatures.forEach((signature, index) => {
      if (!signature) return
      const key = signature.subarray(band * rows, band * rows + rows).join(',')
      const representatives = buckets.get(key)
      if (representatives === undefined) {
        buckets.set(key, [index])
        return
      }
      let joined = false
      for (const representative of representatives) {
        // Already in this cluster through another band: nothing to verify.
        if (sets.find(representative) === sets.find(index)) {
          joined = true
          continue
        }
        const similarity = estimatedSimilarity(signatures[representative]!, signature)
        if (similarity >= options.threshold) {
          sets.union(representative, index, similarity)
          linked[representative] = linked[index] = 1
          joined = true
        }
      }
      if (!joined && representatives.length < MAX_BUCKET_REPRESENTATIVES) representatives.push(index)
    })
  }
  const groups = new Map<number, number[]>()
  signatures.forEach((_, index) => {
    if (!linked[index]) return
    const root = sets.find(index)
    const members = groups.get(root) ?? []
    members.push(index)
    groups.set(root, members)
  })
  return [...groups.entries()]
    .filter(([, members]) => members.length > 1)
    .map(([root, members]) => ({ members, similarity: sets.lowest[root] }))
    .sort((a, b) => a.members[0] - b.members[0])
}
