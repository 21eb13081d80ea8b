import { existsSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { ModelInspection } from '../jobs/kinds/model-inspect'
import { ApiError } from './errors'
import { generate } from './generate'
import type { Handlers } from './handlers'
import { validateModelFolder } from './model-validation'

/** Checks what can be checked at once, so a wrong path is an immediate error and not a failed job. */
function checkModelFolder(path: string): string {
  const dir = resolve(path)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ApiError('invalid_input', `models.register: ${dir} is not a folder`)
  }
  if (!existsSync(join(dir, 'config.json'))) {
    throw new ApiError(
      'invalid_input',
      `models.register: ${dir} has no config.json (expected an HF model folder)`
    )
  }
  return dir
}

export const modelHandlers: Pick<
  Handlers,
  'models.list' | 'models.register' | 'models.validate' | 'models.generate'
> = {
  'models.list': (_input, ctx) => ctx.store.models.list(),
  'models.validate': (input) => validateModelFolder(input.path),
  'models.generate': (input, ctx) => generate(ctx, input),
  'models.register': (input, ctx) => {
    const path = checkModelFolder(input.path)
    const job = ctx.jobs.submit(
      'model.inspect',
      { path },
      {
        onResult: (value) => {
          const inspection = value as ModelInspection
          return ctx.store.models.register({ ...inspection, name: input.name ?? inspection.name })
        }
      }
    )
    return { jobId: job.id }
  }
}
