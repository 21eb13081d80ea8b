/**
 * Arena battles: two targets' answers to one prompt, voted on blind. The repository speaks of the
 * answers as a and b (who made them); which one the voter saw on the left is a property of the
 * battle, so the vote is stored as a / b / tie / both_bad whatever the order on screen.
 *
 * A battle saved from a chat keeps its earlier turns in the settings JSON under `history`: they
 * are context for the voter, never queried, so they need no column of their own.
 */
import type Database from 'better-sqlite3'
import type { ArenaBattle, ArenaVote } from '../../../src-preload/contract'
import { parseJsonObject } from '../json'
import { NOW_SQL, pageParams, type Page } from './sql'

/** Who answered: `base:<id>` or `checkpoint:<id>`, with the label it had when it answered. */
export interface ArenaContender {
  key: string
  label: string
}

export type StoredVote = 'a' | 'b' | 'tie' | 'both_bad'

/** A turn before the prompt of a chat battle: the user's words and each contender's answer. */
export interface HistoryTurn {
  user: string
  a: string
  b: string
}

export interface NewBattle {
  prompt: string
  a: ArenaContender
  b: ArenaContender
  outputA: string
  outputB: string
  aOnLeft: boolean
  settings: Record<string, unknown>
  /** The chat's turns before the prompt (none for a single prompt). */
  history?: HistoryTurn[]
}

/** A battle as stored, for the leaderboard and the export. */
export interface BattleRecord extends NewBattle {
  id: number
  history: HistoryTurn[]
  vote: StoredVote | null
  createdAt: string
  votedAt: string | null
}

interface BattleRow {
  id: number
  prompt: string
  a_key: string
  a_label: string
  b_key: string
  b_label: string
  output_a: string
  output_b: string
  a_on_left: number
  settings: string
  vote: StoredVote | null
  created_at: string
  voted_at: string | null
}

const HISTORY_KEY = 'history'

/** The stored history, checked: a hand-edited row fails here with the battle's id, not later in a view. */
function historyOf(stored: unknown, id: number): HistoryTurn[] {
  const history = stored ?? []
  const isTurn = (turn: unknown): turn is HistoryTurn =>
    typeof turn === 'object' &&
    turn !== null &&
    ['user', 'a', 'b'].every((key) => typeof (turn as Record<string, unknown>)[key] === 'string')
  if (!Array.isArray(history) || !history.every(isTurn)) {
    throw new Error(
      `arena_battles.settings of battle ${id}: "${HISTORY_KEY}" must be a list of {user, a, b} turns`
    )
  }
  return history
}

function toRecord(row: BattleRow): BattleRecord {
  const { [HISTORY_KEY]: history, ...settings } = parseJsonObject(row.settings, 'arena_battles.settings')
  return {
    id: row.id,
    prompt: row.prompt,
    a: { key: row.a_key, label: row.a_label },
    b: { key: row.b_key, label: row.b_label },
    outputA: row.output_a,
    outputB: row.output_b,
    aOnLeft: row.a_on_left === 1,
    vote: row.vote,
    settings,
    history: historyOf(history, row.id),
    createdAt: row.created_at,
    votedAt: row.voted_at
  }
}

/** The vote as the voter gave it (by side) and as stored (by author). */
export function storedVote(vote: ArenaVote, aOnLeft: boolean): StoredVote {
  if (vote === 'left') return aOnLeft ? 'a' : 'b'
  if (vote === 'right') return aOnLeft ? 'b' : 'a'
  return vote
}

function shownVote(vote: StoredVote, aOnLeft: boolean): ArenaVote {
  if (vote === 'a') return aOnLeft ? 'left' : 'right'
  if (vote === 'b') return aOnLeft ? 'right' : 'left'
  return vote
}

/** The battle as the voter sees it: sides, and the authors only once voted. */
export function toArenaBattle(record: BattleRecord): ArenaBattle {
  const revealed = record.vote !== null
  const a = { output: record.outputA, label: revealed ? record.a.label : null }
  const b = { output: record.outputB, label: revealed ? record.b.label : null }
  return {
    id: record.id,
    history: record.history.map((turn) => ({
      user: turn.user,
      left: record.aOnLeft ? turn.a : turn.b,
      right: record.aOnLeft ? turn.b : turn.a
    })),
    prompt: record.prompt,
    left: record.aOnLeft ? a : b,
    right: record.aOnLeft ? b : a,
    vote: record.vote === null ? null : shownVote(record.vote, record.aOnLeft),
    createdAt: record.createdAt,
    votedAt: record.votedAt
  }
}

export function createArenaRepo(db: Database.Database) {
  const sql = {
    insert: db.prepare<Record<string, unknown>, BattleRow>(
      `INSERT INTO arena_battles (prompt, a_key, a_label, b_key, b_label, output_a, output_b, a_on_left, settings)
       VALUES (@prompt, @aKey, @aLabel, @bKey, @bLabel, @outputA, @outputB, @aOnLeft, @settings) RETURNING *`
    ),
    get: db.prepare<[number], BattleRow>('SELECT * FROM arena_battles WHERE id = ?'),
    list: db.prepare<{ limit: number; offset: number }, BattleRow>(
      'SELECT * FROM arena_battles ORDER BY id DESC LIMIT @limit OFFSET @offset'
    ),
    voted: db.prepare<[], BattleRow>('SELECT * FROM arena_battles WHERE vote IS NOT NULL ORDER BY id'),
    vote: db.prepare<[StoredVote, number]>(
      `UPDATE arena_battles SET vote = ?, voted_at = ${NOW_SQL} WHERE id = ?`
    )
  }

  function get(id: number): BattleRecord | null {
    const row = sql.get.get(id)
    return row ? toRecord(row) : null
  }

  return {
    create: (battle: NewBattle): BattleRecord =>
      toRecord(
        sql.insert.get({
          prompt: battle.prompt,
          aKey: battle.a.key,
          aLabel: battle.a.label,
          bKey: battle.b.key,
          bLabel: battle.b.label,
          outputA: battle.outputA,
          outputB: battle.outputB,
          aOnLeft: battle.aOnLeft ? 1 : 0,
          settings: JSON.stringify(
            battle.history?.length ? { ...battle.settings, [HISTORY_KEY]: battle.history } : battle.settings
          )
        })!
      ),
    get,
    list: (page?: Page): BattleRecord[] => sql.list.all(pageParams(page, 100)).map(toRecord),
    /** Every voted battle, oldest first. */
    voted: (): BattleRecord[] => sql.voted.all().map(toRecord),
    /** Records (or changes) the vote; null when there is no such battle. */
    vote(id: number, vote: ArenaVote): BattleRecord | null {
      const battle = get(id)
      if (!battle) return null
      sql.vote.run(storedVote(vote, battle.aOnLeft), id)
      return get(id)
    }
  }
}

export type ArenaRepo = ReturnType<typeof createArenaRepo>
