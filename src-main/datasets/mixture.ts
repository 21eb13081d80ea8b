/**
 * The data a pipeline stage trains on, composed from dataset rows before the run starts (so a resumed
 * run reads exactly the rows it began with):
 *
 * - Mixtures (general-data mixing): rows drawn from several sources by ratio. Without a requested
 *   size the mixture is the largest one no source has to repeat a row for (the "stop when the
 *   first source runs out" interleaving of LLaMA-Factory's `interleave_under`); with one, a source
 *   short of its share is repeated, each pass in a new shuffled order.
 * - Data-overlap control (seed: "SFT-GRPO Data Overlap as a Post-Training Hyperparameter"): a later
 *   stage's rows are chosen so that exactly a given share of them have a prompt an earlier stage
 *   trained on, the rest prompts it never saw.
 *
 * Everything is seeded, so the same settings compose the same rows.
 */
import { Rng } from '../engine/rng'
import { canonicalJson } from '../shared/canonical-json'

export interface MixtureSource<T> {
  /** Names the source in errors and reports ("dataset version 3"). */
  label: string
  rows: readonly T[]
  ratio: number
}

export interface Mixture<T> {
  rows: T[]
  /** Rows taken from each source, in the order of the sources. */
  taken: number[]
}

/** Mixes `sources` by ratio into `size` rows (default: the most without repeating a row); see the module note. */
export function mixRows<T>(sources: readonly MixtureSource<T>[], seed: number, size?: number): Mixture<T> {
  if (sources.length === 0) throw new Error('a mixture needs at least one source')
  const total = sources.reduce((sum, source) => sum + source.ratio, 0)
  for (const source of sources) {
    if (!(Number.isFinite(source.ratio) && source.ratio > 0))
      throw new Error(`${source.label}: ratio must be a number > 0, got ${source.ratio}`)
    if (source.rows.length === 0) throw new Error(`${source.label} has no rows to mix`)
  }
  const shares = sources.map((source) => source.ratio / total)
  const rows = size ?? Math.floor(Math.min(...sources.map((source, i) => source.rows.length / shares[i])))
  const taken = apportion(shares, rows)
  const mixed = sources.flatMap((source, i) => drawRows(source.rows, taken[i], Rng.fromSeed(seed, 1, i)))
  return { rows: Rng.fromSeed(seed, 2).shuffle(mixed), taken }
}

/** `count` split by `shares` into whole numbers summing to it (largest remainders first). */
export function apportion(shares: readonly number[], count: number): number[] {
  const exact = shares.map((share) => share * count)
  const whole = exact.map(Math.floor)
  const order = exact
    .map((value, i) => i)
    .sort((a, b) => exact[b] - whole[b] - (exact[a] - whole[a]) || a - b)
  for (let k = 0; k < count - whole.reduce((a, b) => a + b, 0); k++) whole[order[k]]++
  return whole
}

/** `count` rows of `rows`: whole shuffled passes, the last one cut. */
function drawRows<T>(rows: readonly T[], count: number, rng: Rng): T[] {
  const drawn: T[] = []
  while (drawn.length < count) drawn.push(...rng.shuffle([...rows]).slice(0, count - drawn.length))
  return drawn
}

/** A row as the trainer reads it: chat messages, a prompt/completion pair or raw text. */
export interface PromptRow {
  messages?: readonly { role?: unknown; content?: unknown }[]
  prompt?: unknown
  text?: unknown
}

/**
 * What a row asks, for comparing stages' prompts: the messages before its last assistant turn (role
 * and content), its `prompt`, or for raw text the text itself.
 */
export function promptKey(row: PromptRow): string {
  if (Array.isArray(row.messages) && row.messages.length > 0) {
    const lastAnswer = row.messages.map((m) => m.role).lastIndexOf('assistant')
    const asked = lastAnswer < 0 ? row.messages : row.messages.slice(0, lastAnswer)
    return canonicalJson(asked.map((m) => ({ role: m.role, content: m.content })))
  }
  if (row.prompt !== undefined) return canonicalJson({ prompt: row.prompt })
  return canonicalJson({ text: row.text ?? null })
}

export interface OverlapChoice<T> {
  rows: T[]
  /** Rows whose prompt an earlier stage trained on / did not, among those chosen. */
  seen: number
  unseen: number
  /** Of the rows there were to choose from: how many had a seen prompt. */
  available: { seen: number; unseen: number }
}

/** How many of `rows` ask a prompt in `seenPrompts` (`keyOf` gives a row's promptKey). */
export function countSeen<T>(
  rows: readonly T[],
  keyOf: (row: T) => string,
  seenPrompts: ReadonlySet<string>
): number {
  return rows.filter((row) => seenPrompts.has(keyOf(row))).length
}

/**
 * The most rows of `rows` such that exactly `share` of them (rounded) ask a prompt in `seenPrompts`
 * (`keyOf` gives a row's promptKey);
 * throws saying what the data has when no such choice exists.
 */
export function chooseOverlap<T>(
  rows: readonly T[],
  keyOf: (row: T) => string,
  seenPrompts: ReadonlySet<string>,
  share: number,
  seed: number
): OverlapChoice<T> {
  if (!(share >= 0 && share <= 1)) throw new Error(`overlap must be in [0, 1], got ${share}`)
  const seenRows = rows.filter((row) => seenPrompts.has(keyOf(row)))
  const unseenRows = rows.filter((row) => !seenPrompts.has(keyOf(row)))
  const available = { seen: seenRows.length, unseen: unseenRows.length }
  const seenOf = (n: number) => Math.round(share * n)
  const bound = share === 0 ? unseenRows.length : share === 1 ? seenRows.length : rows.length
  let size = bound
  while (size > 0 && (seenOf(size) > seenRows.length || size - seenOf(size) > unseenRows.length)) size--
  if (size === 0) {
    throw new Error(
      `overlap ${share} needs rows whose prompts the earlier stages ${share === 0 ? 'did not train on' : share === 1 ? 'trained on' : 'trained on and rows whose prompts they did not'}; ` +
        `of its ${rows.length} rows, ${available.seen} ask a prompt they trained on and ${available.unseen} do not`
    )
  }
  const seen = seenOf(size)
  const chosen = [
    ...Rng.fromSeed(seed, 3)
      .shuffle([...seenRows])
      .slice(0, seen),
    ...Rng.fromSeed(seed, 4)
      .shuffle([...unseenRows])
      .slice(0, size - seen)
  ]
  return { rows: Rng.fromSeed(seed, 5).shuffle(chosen), seen, unseen: size - seen, available }
}

/** What a stage's rows came to: from each source of a mixture, and against the earlier stages' prompts. */
export interface ComposedRows<T> {
  rows: T[]
  /** Rows taken from each source of a mixture; null for rows given as they are. */
  taken: number[] | null
  /** For a later stage: rows asking a prompt an earlier stage trains on, and not (share: as asked, or null). */
  overlap: { share: number | null; seen: number; unseen: number } | null
}

/**
 * A stage's rows — `given.rows` as they are, or a mixture of sources — and, for a stage after the
 * first (`later`), the overlap control (`later.overlap`) or, unasked, the overlap measured. The one
 * composition runs.start and `train --pipeline` share.
 */
export function composeStageRows<T>(
  given: { rows: readonly T[] } | { sources: readonly MixtureSource<T>[]; size?: number },
  later: { keyOf: (row: T) => string; seenPrompts: ReadonlySet<string>; overlap?: number } | null,
  seed: number
): ComposedRows<T> {
  const mix =
    'sources' in given ? mixRows(given.sources, seed, given.size) : { rows: [...given.rows], taken: null }
  const { rows, taken } = mix
  if (!later) return { rows, taken, overlap: null }
  const { keyOf, seenPrompts, overlap: share } = later
  if (share === undefined) {
    const seen = countSeen(rows, keyOf, seenPrompts)
    return { rows, taken, overlap: { share: null, seen, unseen: rows.length - seen } }
  }
  const choice = chooseOverlap(rows, keyOf, seenPrompts, share, seed)
  return { rows: choice.rows, taken, overlap: { share, seen: choice.seen, unseen: choice.unseen } }
}
