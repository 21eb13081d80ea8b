/**
 * Jobs that read model folders for a call that waits on them: models.validate's check
 * (jobs/kinds/model-validate.ts), models.discover's scan and models.detail's reading. They run in a
 * job worker because the folders' files may be large or hostile, and reading them must not hold up
 * the requests this thread serves. A lane of their own, so they answer while a registration hashes
 * weights.
 */
import type { ModelValidation } from '../../src-preload/contract'
import { MODEL_VALIDATE_JOB, type ModelValidateInput } from '../jobs/kinds/model-validate'
import { ApiError } from './errors'
import type { RequestContext } from './handlers'

/** Runs a model-folder job and answers its result; a job that does not complete is the call's error. */
export async function modelFolderJob<T>(
  ctx: RequestContext,
  kind: string,
  input: unknown,
  operation: string
): Promise<T> {
  const job = ctx.jobs.submit(kind, input, { lane: 'model-validate' })
  const finished = await ctx.jobs.wait(job.id)
  if (finished.status !== 'completed') {
    throw new ApiError('internal', `${operation}: ${finished.error ?? `the check was ${finished.status}`}`)
  }
  return finished.result as T
}

export function validateModel(
  ctx: RequestContext,
  path: string,
  operation: string
): Promise<ModelValidation> {
  const input: ModelValidateInput = { path }
  return modelFolderJob(ctx, MODEL_VALIDATE_JOB, input, operation)
}
