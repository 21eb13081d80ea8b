/**
 * sql_execution_match: execution accuracy as Think2SQL rewards it (Papicchio, Rossi, Cagliero and
 * Papotti, "Think2SQL: Reinforce LLM Reasoning Capabilities for Text2SQL", arXiv:2504.15077): the
 * predicted and the gold query run on the same database and the reward is 1 when their results are
 * the same, else 0.
 *
 * Results compare as multisets of rows (column names aside), in order only when the gold query has
 * ORDER BY. The database is the user's SQLite file, opened read-only in a separate process
 * (sql-runner.ts) that runs only reading statements and is killed at the time limit.
 */
import { statSync } from 'node:fs'
import { goldAnswer, REFERENCE_KEY_PARAM } from './gold'
import type { RewardFunction } from './types'

const FENCED = /```([A-Za-z]*)[^\n]*\n([\s\S]*?)```/gu

/** The query a completion gives: its last ```sql block, else its last fenced block, else the whole text. */
export function extractSql(completion: string): string {
  const blocks = [...completion.matchAll(FENCED)]
  const sqlBlocks = blocks.filter((block) => block[1].toLowerCase() === 'sql')
  const chosen = sqlBlocks.at(-1) ?? blocks.at(-1)
  return statementText(chosen ? chosen[2] : completion)
}

/** One statement as run: without surrounding whitespace and its final semicolon. */
function statementText(sql: string): string {
  return sql.trim().replace(/;\s*$/u, '').trim()
}

/** Whether the gold asks for an order (then row order is part of the answer). */
function ordered(sql: string): boolean {
  return /\border\s+by\b/iu.test(sql)
}

function sameRows(predicted: readonly string[], gold: readonly string[], inOrder: boolean): boolean {
  if (predicted.length !== gold.length) return false
  const a = inOrder ? predicted : [...predicted].sort()
  const b = inOrder ? gold : [...gold].sort()
  return a.every((row, i) => row === b[i])
}

function differenceReason(predictedRows: number, goldRows: number): string {
  return predictedRows === goldRows
    ? `the ${goldRows} rows differ from the gold’s`
    : `${predictedRows} rows, not the gold’s ${goldRows}`
}

export const sqlExecutionMatch: RewardFunction = {
  name: 'sql_execution_match',
  title: 'SQL execution match',
  description:
    '1 when the completion’s query (its last ```sql block, else the whole text) returns the same rows as the ' +
    'gold query on the named SQLite file (as a multiset; in order when the gold has ORDER BY), else 0. ' +
    'Read-only: a query that would write is refused (0); one past timeout_ms is stopped (0).',
  paper: {
    title: 'Think2SQL: Reinforce LLM Reasoning Capabilities for Text2SQL',
    authors: 'Simone Papicchio, Simone Rossi, Luca Cagliero, Paolo Papotti',
    year: 2025,
    arxiv: '2504.15077',
    url: 'https://arxiv.org/abs/2504.15077'
  },
  params: [
    {
      name: 'database',
      type: 'text',
      default: '',
      maxLength: 4096,
      description: 'path of the SQLite file the queries run on (opened read-only)'
    },
    {
      name: 'timeout_ms',
      type: 'integer',
      default: 5000,
      min: 10,
      max: 600_000,
      description: 'a query running longer is stopped and scores 0'
    },
    REFERENCE_KEY_PARAM
  ],
  check(params) {
    const database = String(params.database)
    if (database === '') throw new Error('parameter database: the SQLite file is required')
    let isFile: boolean
    try {
      isFile = statSync(database).isFile()
    } catch {
      throw new Error(`parameter database: ${database} does not exist`)
    }
    if (!isFile) throw new Error(`parameter database: ${database} is not a file`)
  },
  async score(input, params, session) {
    const found = goldAnswer(input, params)
    if ('missing' in found) return { value: 0, reason: found.missing }
    const database = String(params.database)
    const timeoutMs = params.timeout_ms as number
    const gold = await session.goldQuery(database, statementText(found.gold), timeoutMs)
    if ('error' in gold) return { value: 0, reason: `the gold query failed: ${gold.error}` }
    const predicted = await session.query(database, extractSql(input.completion), timeoutMs)
    if ('error' in predicted) return { value: 0, reason: predicted.error }
    return sameRows(predicted.rows, gold.rows, ordered(found.gold))
      ? { value: 1 }
      : { value: 0, reason: differenceReason(predicted.rows.length, gold.rows.length) }
  }
}
