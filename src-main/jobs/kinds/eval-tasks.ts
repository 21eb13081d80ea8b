import type { EvalSettings, EvaluationStatus } from '../../../src-preload/contract'
import { checkpointWeightsSource } from '../../engine/train/checkpoint-weights'
import type { WeightsSource } from '../../engine/models/weights'
import { loadTaskFile } from '../../eval/tasks'
import { documentCount, runTaskFile, type TaskFile } from '../../eval/runner'
import { TargetEngine } from '../../eval/target-engine'
import { openStore } from '../../store'
import type { JobKind } from '../protocol'

/** One evaluation to carry out: its row in the store, what to load, which task file. */
export interface EvalJobEntry {
  evaluationId: number
  modelDir: string
  adapterDir: string | null
  /** A training checkpoint of a run on modelDir (exported once for inference). */
  checkpointDir: string | null
  taskFile: string
}

export interface EvalTasksInput {
  storeDir: string
  /** In order; consecutive entries of the same target share its loaded model. */
  entries: EvalJobEntry[]
  settings: EvalSettings
  cacheDir?: string
  threads?: number
  /** Resamples for bootstrapped standard errors (default: lm-eval's). */
  bootstrapIters?: number
}

/** Streamed as one JSON line per change, so the main process can publish evaluation.status. */
export interface EvalStatusLine {
  evaluationId: number
  status: EvaluationStatus
  error: string | null
}

export interface EvalTasksOutput {
  completed: number[]
  failed: number[]
}

function sameTarget(a: EvalJobEntry, b: EvalJobEntry): boolean {
  return a.modelDir === b.modelDir && a.adapterDir === b.adapterDir && a.checkpointDir === b.checkpointDir
}

function weightsOf(entry: EvalJobEntry): WeightsSource {
  return entry.checkpointDir
    ? checkpointWeightsSource(entry.checkpointDir, entry.modelDir)
    : { modelDir: entry.modelDir, adapterDir: entry.adapterDir }
}

/**
 * Evaluates targets on tasks (eval/runner.ts) and writes each evaluation's items and scores to the
 * store as soon as it completes, so a cancel or a failure keeps what was finished. A task that
 * fails (a bad data row, a prompt the model cannot hold) fails its evaluation only.
 */
export const evalTasksJob: JobKind<EvalTasksInput, EvalTasksOutput> = {
  kind: 'eval.tasks',
  summary: 'Evaluate models and checkpoints on tasks (lm-evaluation-harness format)',
  async run(input, ctx) {
    const store = openStore(input.storeDir)
    const output: EvalTasksOutput = { completed: [], failed: [] }
    const settle = (line: EvalStatusLine): void => {
      if (line.status !== 'completed') store.evaluations.setStatus(line.evaluationId, line.status, line.error)
      if (line.status === 'completed') output.completed.push(line.evaluationId)
      if (line.status === 'failed') output.failed.push(line.evaluationId)
      ctx.output(JSON.stringify(line) + '\n')
    }
    const fail = (entry: EvalJobEntry, error: unknown): void =>
      settle({ evaluationId: entry.evaluationId, status: 'failed', error: (error as Error).message })
    let engine: { entry: EvalJobEntry; target: TargetEngine } | null = null
    try {
      // Every task file is read first, so progress can count all documents of the job.
      const files = new Map<EvalJobEntry, TaskFile>()
      for (const entry of input.entries) {
        try {
          files.set(entry, await loadTaskFile(entry.taskFile))
        } catch (error) {
          fail(entry, error)
        }
      }
      const counts = new Map([...files].map(([entry, file]) => [entry, documentCount(file, input.settings)]))
      const total = [...counts.values()].reduce((sum, count) => sum + count, 0)
      let before = 0
      for (const [entry, file] of files) {
        if (ctx.signal.aborted) {
          settle({ evaluationId: entry.evaluationId, status: 'interrupted', error: 'cancelled' })
          continue
        }
        settle({ evaluationId: entry.evaluationId, status: 'running', error: null })
        const count = counts.get(entry)!
        try {
          if (!engine || !sameTarget(engine.entry, entry)) {
            await engine?.target.release()
            engine = null
            const target = new TargetEngine(
              weightsOf(entry),
              { device: input.settings.device, cacheDir: input.cacheDir, threads: input.threads },
              input.settings.applyChatTemplate
            )
            engine = { entry, target }
          }
          const name = file.kind === 'task' ? file.task.name : file.group.name
          const offset = before
          const result = await runTaskFile(engine.target, file, {
            settings: input.settings,
            signal: ctx.signal,
            bootstrapIters: input.bootstrapIters,
            onProgress: (done) => ctx.progress(offset + done, total, `${name}: ${done}/${count} documents`)
          })
          store.evaluations.complete(entry.evaluationId, result)
          settle({ evaluationId: entry.evaluationId, status: 'completed', error: null })
        } catch (error) {
          if (ctx.signal.aborted)
            settle({ evaluationId: entry.evaluationId, status: 'interrupted', error: 'cancelled' })
          else fail(entry, error)
        }
        before += count
      }
      return output
    } finally {
      await engine?.target.release()
      store.close()
    }
  }
}
