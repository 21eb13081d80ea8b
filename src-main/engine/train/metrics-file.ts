/** The --metrics-jsonl file: one JSON line per optimizer step, with exactly the documented keys. */
import { appendFileSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { errorNamingPath, writeTextFileAtomically } from '../checkpoint/atomic-write'
import type { StepRecord } from './checkpoints'

/** The metrics line of a step: exactly the documented keys. */
function metricsLine(record: StepRecord): string {
  return JSON.stringify({
    step: record.step,
    loss: record.loss,
    lr: record.lr,
    grad_norm: record.gradNorm,
    tokens_per_s: record.tokensPerSecond
  })
}

/** Starts the file afresh; a resumed run first rewrites the steps its checkpoint logged. */
export function startMetricsFile(path: string, history: readonly StepRecord[]): void {
  mkdirSync(dirname(path), { recursive: true })
  writeTextFileAtomically(path, history.map((record) => metricsLine(record) + '\n').join(''))
}

export function appendMetricsLine(path: string, record: StepRecord): void {
  appendJsonLine(path, metricsLine(record))
}

/** Appends one line in a single write, so a reader sees whole lines (or a torn last one after a kill). */
export function appendJsonLine(path: string, line: string): void {
  try {
    appendFileSync(path, line + '\n')
  } catch (error) {
    throw errorNamingPath(error, path)
  }
}
