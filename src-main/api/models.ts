import { existsSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { readModelConfig } from '../engine/checkpoint/hf-config'
import { contextLimit } from '../engine/infer/model-session'
import type { ModelInspection } from '../jobs/kinds/model-inspect'
import { ApiError } from './errors'
import { generate } from './generate'
import type { Handlers } from './handlers'
import { validateModel } from './model-validation'

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

/** What generation allows a registered model (contextLimit), read from its folder as generation reads it. */
export function contextLengthOf(modelDir: string): number | null {
  try {
    return contextLimit(readModelConfig(modelDir))
  } catch {
    // A folder gone or changed since it was registered: the model stays listed; using it says why.
    return null
  }
}

export const modelHandlers: Pick<
  Handlers,
  'models.list' | 'models.register' | 'models.validate' | 'models.generate'
> = {
  'models.list': (_input, ctx) =>
    ctx.store.models.list().map((model) => ({ ...model, contextLength: contextLengthOf(model.path) })),
  'models.validate': (input, ctx) => validateModel(ctx, input.path, 'models.validate'),
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
