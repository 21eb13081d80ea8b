/**
 * models.validate's check of a model folder (jobs/kinds/model-validate.ts), run in a job worker:
 * the folder's files may be large or hostile, and reading them must not hold up the requests this
 * thread serves. A lane of its own, so a check answers while a registration hashes weights.
 */
import type { ModelValidation } from '../../src-preload/contract'
import { MODEL_VALIDATE_JOB, type ModelValidateInput } from '../jobs/kinds/model-validate'
import { ApiError } from './errors'
import type { RequestContext } from './handlers'

export async function validateModel(
  ctx: RequestContext,
  path: string,
  operation: string
): Promise<ModelValidation> {
  const input: ModelValidateInput = { path }
  const job = ctx.jobs.submit(MODEL_VALIDATE_JOB, input, { lane: 'model-validate' })
  const finished = await ctx.jobs.wait(job.id)
  if (finished.status !== 'completed') {
    throw new ApiError('internal', `${operation}: ${finished.error ?? `the check was ${finished.status}`}`)
  }
  return finished.result as ModelValidation
}
