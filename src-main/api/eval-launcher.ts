/**
 * Evaluating a base model or a run's result on a built-in benchmark: an evaluation row is created at
 * once (status running), the benchmark runs in a job, and its metrics and per-sample results land in
 * the store when it ends.
 */
import type { EvaluationSummary, ParsedInput } from '../../src-preload/contract'
import { loadBenchmark, type BenchmarkRunResult } from '../eval/benchmark'
import type { EvalBenchmarkInput } from '../jobs/kinds/eval-benchmark'
import { ApiError } from './errors'
import type { RequestContext } from './handlers'
import { graphCacheDir } from '../store/location'
import { inTransaction } from '../store/repos/sql'
import { baseModelTarget, runResultTarget, type WeightsTarget } from './weights-target'

type RunInput = ParsedInput<'evaluations.run'>

/** Which weights to evaluate: a registered base model, or what a completed run exported. */
function evalTarget(ctx: RequestContext, input: RunInput): WeightsTarget {
  return input.baseModelId !== undefined
    ? baseModelTarget(ctx, 'evaluations.run', input.baseModelId)
    : runResultTarget(ctx, 'evaluations.run', input.runId!)
}

export function startEvaluation(
  ctx: RequestContext,
  input: RunInput
): { evaluation: EvaluationSummary; jobId: string } {
  try {
    loadBenchmark(input.benchmark)
  } catch (err) {
    throw new ApiError('invalid_input', `evaluations.run: ${(err as Error).message}`)
  }
  const target = evalTarget(ctx, input)
  const jobInput: EvalBenchmarkInput = {
    benchmark: input.benchmark,
    modelDir: target.modelDir,
    adapterDir: target.adapterDir,
    device: input.device,
    cacheDir: graphCacheDir(ctx.store.dir)
  }
  const evaluation = ctx.store.evaluations.create({
    name: input.name ?? `${input.benchmark}: ${target.label}`,
    benchmark: input.benchmark,
    runId: target.runId,
    baseModelId: target.baseModelId,
    config: { ...jobInput }
  })
  const job = ctx.jobs.submit('eval.benchmark', jobInput, {
    onResult: (value) => {
      const result = value as BenchmarkRunResult
      const { score, heldOutLoss, heldOutTokens, seconds } = result.metrics
      inTransaction(ctx.store.db, () => {
        ctx.store.evaluations.addResults(evaluation.id, result.results)
        ctx.store.evaluations.setResult(evaluation.id, {
          score,
          ...(heldOutLoss === null ? {} : { held_out_loss: heldOutLoss }),
          held_out_tokens: heldOutTokens,
          seconds
        })
      })()
      return result
    }
  })
  void ctx.jobs.wait(job.id).then((finished) => {
    if (finished.status !== 'completed') {
      ctx.store.evaluations.setStatus(evaluation.id, 'failed', finished.error ?? finished.status)
    }
  })
  return { evaluation, jobId: job.id }
}
