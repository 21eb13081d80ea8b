/**
 * Bradley–Terry ratings from pairwise outcomes: P(i beats j) = p_i / (p_i + p_j). Strengths are fit
 * by Hunter's MM iteration ("MM algorithms for generalized Bradley–Terry models", Ann. Statist.
 * 2004): p_i ← W_i / Σ_j n_ij / (p_i + p_j), with a draw counted as half a win for each side, as
 * Chatbot Arena does. Every player also plays one virtual drawn game against a fixed player of
 * strength 1, a weak prior that keeps a player with only wins (or only losses) finite.
 *
 * Ratings are on the Elo scale, 1000 + 400 · log10(p_i / geometric mean p), with 95 % intervals from
 * a seeded bootstrap over the games.
 */
import { seededRandom } from '../engine/infer/sampling'

export interface PairOutcome {
  a: string
  b: string
  /** 1: a won; 0: b won; 0.5: a draw. */
  scoreA: number
}

export interface Rating {
  player: string
  rating: number
  low: number
  high: number
}

const ITERATIONS = 200
const TOLERANCE = 1e-9
const ELO_BASE = 1000
const ELO_SCALE = 400 / Math.LN10
export const BOOTSTRAP_RESAMPLES = 200

/** Log-strengths of `players` fit to `games`, centred on 0. */
export function fitStrengths(players: readonly string[], games: readonly PairOutcome[]): number[] {
  const index = new Map(players.map((player, i) => [player, i]))
  const n = players.length
  const wins = new Array<number>(n).fill(0.5) // the prior's draw
  const pairs = new Map<string, { i: number; j: number; count: number }>()
  for (const game of games) {
    const i = index.get(game.a)!
    const j = index.get(game.b)!
    wins[i] += game.scoreA
    wins[j] += 1 - game.scoreA
    const key = i < j ? `${i},${j}` : `${j},${i}`
    const pair = pairs.get(key) ?? { i: Math.min(i, j), j: Math.max(i, j), count: 0 }
    pair.count++
    pairs.set(key, pair)
  }
  let strength = new Array<number>(n).fill(1)
  for (let iteration = 0; iteration < ITERATIONS; iteration++) {
    const denominator = strength.map((p) => 1 / (p + 1)) // the prior's game against strength 1
    for (const { i, j, count } of pairs.values()) {
      const term = count / (strength[i] + strength[j])
      denominator[i] += term
      denominator[j] += term
    }
    const next = wins.map((w, i) => w / denominator[i])
    const change = Math.max(...next.map((p, i) => Math.abs(Math.log(p) - Math.log(strength[i]))))
    strength = next
    if (change < TOLERANCE) break
  }
  const logs = strength.map(Math.log)
  const mean = logs.reduce((sum, value) => sum + value, 0) / Math.max(1, n)
  return logs.map((value) => value - mean)
}

function percentile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q
  const lower = Math.floor(position)
  const upper = Math.ceil(position)
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower)
}

/** Ratings with bootstrap intervals, in the order of `players`. */
export function rate(
  players: readonly string[],
  games: readonly PairOutcome[],
  options: { resamples?: number; seed?: number } = {}
): Rating[] {
  const toElo = (log: number): number => ELO_BASE + ELO_SCALE * log
  const point = fitStrengths(players, games)
  const resamples = games.length === 0 ? 0 : (options.resamples ?? BOOTSTRAP_RESAMPLES)
  const random = seededRandom(options.seed ?? 0)
  const draws: number[][] = players.map(() => [])
  for (let r = 0; r < resamples; r++) {
    const sample = games.map(() => games[Math.floor(random() * games.length)])
    fitStrengths(players, sample).forEach((log, i) => draws[i].push(toElo(log)))
  }
  return players.map((player, i) => {
    const sorted = [...draws[i]].sort((x, y) => x - y)
    const rating = toElo(point[i])
    return {
      player,
      rating,
      low: sorted.length > 0 ? percentile(sorted, 0.025) : rating,
      high: sorted.length > 0 ? percentile(sorted, 0.975) : rating
    }
  })
}
