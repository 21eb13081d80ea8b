/**
 * Benchmarks during training (RunSettings.benchmarks): the checkpoints of every `every`-th step and
 * of the run's last step are evaluated on the run's tasks while it trains, the way evaluations.start
 * evaluates them (a job in the eval lane, beside the training process), and each evaluation's
 * headline metric becomes a run metric at its checkpoint's step (`eval/<task>/<metric key>`), so the
 * run's charts draw it with the others.
 *
 * The trainer saves a checkpoint at each of those steps (TrainConfig.benchmarkEvery). Evaluations
 * carry the run and checkpoint (they are of its checkpoints), and one made before with the same task
 * content and settings is reused: a resumed run passing a step again costs nothing.
 */
import type {
  Device,
  EvaluationStatus,
  Events,
  ParsedInput,
  RunCheckpoint,
  RunLogLine
} from '../../src-preload/contract'
import { evalSettingsSchema } from '../../src-preload/contract'
import { benchmarkMetricName } from '../../src-preload/metric-names'
import { inspectTasks, startEvaluations } from './eval-launcher'
import type { RequestContext } from './handlers'

/** Which tasks, how often (0: only the last step) and on how many documents of each. */
export type BenchmarkPlan = NonNullable<ParsedInput<'runs.start'>['benchmarks']>

type RunLog = (runId: number, level: RunLogLine['level'], message: string) => void

const FINISHED: readonly EvaluationStatus[] = ['completed', 'failed', 'interrupted']

/**
 * Reads the plan's tasks as an evaluation would (a bad task file refuses the run before it trains,
 * with an error naming the file, after `context`) and returns the plan with each task file as an
 * absolute path, so that the run finds the same files whichever process resumes it later.
 */
export async function resolveBenchmarkPlan(
  ctx: RequestContext,
  context: string,
  plan: BenchmarkPlan
): Promise<BenchmarkPlan> {
  const { tasks } = await inspectTasks(ctx, context, { what: 'tasks', tasks: plan.tasks })
  return { ...plan, tasks: tasks.map((task, i) => (task.builtin ? plan.tasks[i] : task.file)) }
}

/** The plan a run was started with (kept in its stored configuration); null when it has none. */
export function benchmarkPlanOf(config: Record<string, unknown>): BenchmarkPlan | null {
  return (config.benchmarks as BenchmarkPlan | null | undefined) ?? null
}

/** Whether the checkpoint of `step` is benchmarked: every `every` steps, and the last of the run. */
export function isBenchmarkStep(plan: BenchmarkPlan, step: number, totalSteps: number | null): boolean {
  return step === totalSteps || (plan.every > 0 && step % plan.every === 0)
}

/** Starts the benchmark evaluations of runs' checkpoints and turns their results into run metrics. */
export class RunBenchmarks {
  /** Evaluations started here and not finished yet: the run and step whose metric each gives. */
  private readonly open = new Map<number, { runId: number; step: number }>()
  /** Per run, the batches started and not yet over (job ended, or start refused). */
  private readonly batches = new Map<number, Set<Promise<void>>>()
  private readonly unsubscribe: () => void

  constructor(
    private readonly ctx: RequestContext,
    private readonly log: RunLog
  ) {
    this.unsubscribe = ctx.events.subscribe((event, payload) => {
      if (event === 'evaluation.status') this.onStatus(payload as Events['evaluation.status'])
    })
  }

  /** Evaluates the checkpoints on the plan's tasks in the background; problems go to the run's log. */
  evaluate(runId: number, checkpoints: RunCheckpoint[], plan: BenchmarkPlan, device: Device): void {
    const batches = this.batches.get(runId) ?? new Set()
    this.batches.set(runId, batches)
    const batch: Promise<void> = this.start(runId, checkpoints, plan, device)
      .catch((error: unknown) => console.error(`run ${runId}: benchmarks: ${(error as Error).message}`))
      .finally(() => {
        batches.delete(batch)
        if (batches.size === 0) this.batches.delete(runId)
      })
    batches.add(batch)
  }

  /** Resolves once every batch of the run started so far is over. */
  async settled(runId: number): Promise<void> {
    let batches: Set<Promise<void>> | undefined
    while ((batches = this.batches.get(runId)) && batches.size > 0) await Promise.all(batches)
  }

  dispose(): void {
    this.unsubscribe()
  }

  private async start(
    runId: number,
    checkpoints: RunCheckpoint[],
    plan: BenchmarkPlan,
    device: Device
  ): Promise<void> {
    const steps = checkpoints.map((checkpoint) => checkpoint.step)
    const limit = plan.limit === null ? 'all documents' : `${plan.limit} documents each`
    this.note(runId, 'info', `benchmarks: ${plan.tasks.join(', ')} (${limit}) at step ${steps.join(', ')}`)
    const input: ParsedInput<'evaluations.start'> = {
      targets: checkpoints.map((checkpoint) => ({ checkpointId: checkpoint.id })),
      tasks: plan.tasks,
      settings: evalSettingsSchema.parse({ limit: plan.limit, device }),
      rerun: false
    }
    let started: Awaited<ReturnType<typeof startEvaluations>>
    try {
      started = await startEvaluations(this.ctx, input)
    } catch (error) {
      this.note(
        runId,
        'warn',
        `benchmarks at step ${steps.join(', ')} not started: ${(error as Error).message}`
      )
      return
    }
    const stepOf = new Map(checkpoints.map((checkpoint) => [checkpoint.id, checkpoint.step]))
    for (const evaluation of started.evaluations) {
      this.open.set(evaluation.id, { runId, step: stepOf.get(evaluation.checkpointId!)! })
      // Reused ones are finished already; a quick one may have finished before this line.
      this.settle(evaluation.id)
    }
    if (started.jobId) await this.ctx.jobs.wait(started.jobId)
  }

  private onStatus({ evaluationId, status }: Events['evaluation.status']): void {
    if (FINISHED.includes(status)) this.settle(evaluationId)
  }

  /** Records a finished evaluation's headline metric at its step (or its failure in the log). */
  private settle(evaluationId: number): void {
    const target = this.open.get(evaluationId)
    if (!target) return
    const evaluation = this.ctx.store.evaluations.get(evaluationId)
    if (evaluation && !FINISHED.includes(evaluation.status)) return
    this.open.delete(evaluationId)
    // Gone with its run (deleted meanwhile): nothing to record.
    if (!evaluation || !this.ctx.store.runs.getSummary(target.runId)) return
    const { runId, step } = target
    const metric = evaluation.primaryMetric
    const score = metric === null ? undefined : evaluation.scores[metric]
    // A share over no documents has no value (stored as null).
    if (evaluation.status !== 'completed' || !score || !Number.isFinite(score.value)) {
      const why = evaluation.error ?? 'no headline metric value'
      this.note(runId, 'warn', `benchmark ${evaluation.task} at step ${step}: ${evaluation.status}: ${why}`)
      return
    }
    this.ctx.store.runs.appendMetrics(runId, [
      { step, name: benchmarkMetricName(evaluation.task, metric!), value: score.value }
    ])
    const stderr = score.stderr === null ? '' : ` ± ${score.stderr.toFixed(4)}`
    this.note(
      runId,
      'info',
      `benchmark ${evaluation.task} at step ${step}: ${metric} ${score.value.toFixed(4)}${stderr}`
    )
  }

  /** A line in the run's log, unless the run was deleted meanwhile. */
  private note(runId: number, level: RunLogLine['level'], message: string): void {
    if (this.ctx.store.runs.getSummary(runId)) this.log(runId, level, message)
  }
}
