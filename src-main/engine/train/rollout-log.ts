/**
 * The rollouts a run generated before each step (grpo on its own samples), kept for the run view's
 * rollout browser: `<outDir>/rollouts.jsonl`, one line per step, `{"step":N,"groups":[…]}`, each
 * group a prompt and its completions with their reward, advantage and reward terms.
 *
 * The file grows by a line per step and can be large, so readers go through it line by line, and
 * the step of a line is read from its opening (`{"step":N,`) without parsing the rest. Lines are
 * appended whole (appendJsonLine); a line without its newline is one a killed process was writing,
 * which readers skip and a resumed run cuts off with every line after the step it resumes from.
 */
import { mkdirSync, truncateSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { appendJsonLine } from './metrics-file'
import type { OnlineRollouts } from './online-rollouts'

export const ROLLOUTS_FILE = 'rollouts.jsonl'

export function rolloutsPath(outDir: string): string {
  return join(outDir, ROLLOUTS_FILE)
}

export interface RolloutCompletionRecord {
  text: string
  reward: number
  /** The loss's advantage of the completion; null when the recipe does not report one. */
  advantage: number | null
  /** Each reward term's value, where the reward has terms. */
  terms?: Record<string, number>
}

export interface RolloutGroupRecord {
  /** 1-based line of the prompt's row in the data file. */
  line: number
  prompt: string
  reference: string
  completions: RolloutCompletionRecord[]
}

export interface RolloutStepRecord {
  step: number
  groups: RolloutGroupRecord[]
}

/**
 * The step's record from its scored groups, in generation order, and the step's per-row advantages,
 * which come in the same order: each group's completions are consecutive rows (online-rollouts.ts),
 * followed by its demonstration row where it has one (chord's expert row, not a completion).
 */
export function rolloutStepRecord(
  step: number,
  groups: OnlineRollouts['groups'],
  advantages: readonly number[] | undefined
): RolloutStepRecord {
  let row = 0
  return {
    step,
    groups: groups.map((group) => {
      const record = {
        line: group.line,
        prompt: group.prompt,
        reference: group.reference,
        completions: group.completions.map((text, i) => {
          const terms = group.terms
          return {
            text,
            reward: group.rewards[i],
            advantage: advantages?.[row++] ?? null,
            ...(terms ? { terms: Object.fromEntries(Object.entries(terms).map(([k, v]) => [k, v[i]])) } : {})
          }
        })
      }
      if (group.demonstration) row++
      return record
    })
  }
}

export function appendRolloutStep(path: string, record: RolloutStepRecord): void {
  appendJsonLine(path, JSON.stringify({ step: record.step, groups: record.groups }))
}

/**
 * Starts the file for a run that trains on from `resumedStep` (0: a fresh run): the lines of later
 * steps, written by the session that was interrupted or by an earlier run in the folder, are cut off.
 */
export async function startRolloutLog(path: string, resumedStep: number): Promise<void> {
  mkdirSync(dirname(path), { recursive: true })
  let keep = 0
  for await (const line of completeLines(path, 'a+')) {
    const step = stepOfLine(line.bytes)
    if (step === null || step > resumedStep) break
    keep = line.end
  }
  truncateSync(path, keep)
}

/** The steps the file has rollouts of, in file order; none when there is no file. */
export async function readRolloutSteps(path: string): Promise<number[]> {
  const steps: number[] = []
  for await (const line of completeLines(path)) steps.push(requireStep(path, line))
  return steps
}

/** The rollouts of one step, or null when the file has none for it. */
export async function readRolloutStep(path: string, step: number): Promise<RolloutStepRecord | null> {
  for await (const line of completeLines(path)) {
    if (requireStep(path, line) !== step) continue
    try {
      return JSON.parse(line.bytes.toString('utf8')) as RolloutStepRecord
    } catch (error) {
      throw new Error(`rollouts: line ${line.number} of ${path}: ${(error as Error).message}`)
    }
  }
  return null
}

const STEP_OPENING = /^\{"step":(\d+),/

function stepOfLine(bytes: Buffer): number | null {
  const match = STEP_OPENING.exec(bytes.subarray(0, 32).toString('utf8'))
  return match ? Number(match[1]) : null
}

function requireStep(path: string, line: FileLine): number {
  const step = stepOfLine(line.bytes)
  if (step === null) {
    const opening = JSON.stringify(line.bytes.subarray(0, 40).toString('utf8'))
    throw new Error(`rollouts: line ${line.number} of ${path} is not a step's rollouts: ${opening}`)
  }
  return step
}

interface FileLine {
  /** 1-based. */
  number: number
  /** Without its newline. */
  bytes: Buffer
  /** Byte offset just past its newline. */
  end: number
}

const CHUNK_BYTES = 1 << 16

/**
 * The file's newline-terminated lines, read a chunk at a time; nothing when it does not exist
 * (flags 'r') or it is created empty (flags 'a+').
 */
async function* completeLines(path: string, flags: 'r' | 'a+' = 'r'): AsyncGenerator<FileLine> {
  const file = await open(path, flags).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null
    throw error
  })
  if (!file) return
  try {
    let pending = Buffer.alloc(0)
    let position = 0
    let number = 0
    const chunk = Buffer.alloc(CHUNK_BYTES)
    for (;;) {
      const { bytesRead } = await file.read(chunk, 0, CHUNK_BYTES, position)
      if (bytesRead === 0) return
      position += bytesRead
      pending = Buffer.concat([pending, chunk.subarray(0, bytesRead)])
      let newline: number
      while ((newline = pending.indexOf(0x0a)) >= 0) {
        number++
        const rest = pending.length - newline - 1
        yield { number, bytes: pending.subarray(0, newline), end: position - rest }
        pending = pending.subarray(newline + 1)
      }
    }
  } finally {
    await file.close()
  }
}
