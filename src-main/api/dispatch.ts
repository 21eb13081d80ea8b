import type { z } from 'zod'
import {
  calls,
  isCallName,
  type ApiErrorShape,
  type CallName,
  type CallOutput
} from '../../src-preload/contract'
import { ApiError, toErrorShape } from './errors'
import type { Handler, Handlers, RequestContext } from './handlers'
import { arenaHandlers } from './arena'
import { datasetHandlers } from './datasets'
import { evaluationHandlers } from './evaluations'
import { exportHandlers } from './exports'
import { jobHandlers } from './jobs'
import { modelLibraryHandlers } from './model-library'
import { modelHandlers } from './models'
import { recipeHandlers } from './recipes'
import { rewardHandlers } from './rewards'
import { runHandlers } from './runs'
import { systemHandlers } from './system'

/** Every call's handler; the type makes a missing or extra handler a compile error. */
export const handlers: Handlers = {
  ...systemHandlers,
  ...datasetHandlers,
  ...modelHandlers,
  ...modelLibraryHandlers,
  ...runHandlers,
  ...recipeHandlers,
  ...rewardHandlers,
  ...evaluationHandlers,
  ...arenaHandlers,
  ...exportHandlers,
  ...jobHandlers
}

export type CallResult<T = unknown> = { ok: true; value: T } | { ok: false; error: ApiErrorShape }

function describeIssues(name: string, issues: z.core.$ZodIssue[]): string {
  const parts = issues.map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : 'input'
    return `${where}: ${issue.message}`
  })
  return `${name}: ${parts.join('; ')}`
}

/**
 * The one entry every door uses: checks the call name, parses the untrusted input with the
 * call's schema, runs the handler and turns any failure into an error shape. Never throws.
 */
export async function dispatch(name: unknown, rawInput: unknown, ctx: RequestContext): Promise<CallResult> {
  try {
    if (!isCallName(name)) throw new ApiError('unknown_call', `unknown API call ${JSON.stringify(name)}`)
    const parsed = calls[name].input.safeParse(rawInput ?? {})
    if (!parsed.success) {
      throw new ApiError('invalid_input', describeIssues(name, parsed.error.issues), parsed.error.issues)
    }
    const handler = handlers[name] as Handler<CallName>
    const value = await handler(parsed.data as never, ctx)
    return { ok: true, value }
  } catch (err) {
    return { ok: false, error: toErrorShape(err) }
  }
}

/** For in-process callers (CLI, tests): the value, or an ApiError carrying the error shape. */
export async function invoke<K extends CallName>(
  name: K,
  input: unknown,
  ctx: RequestContext
): Promise<CallOutput<K>> {
  const result = await dispatch(name, input, ctx)
  if (!result.ok) throw new ApiError(result.error.code, result.error.message, result.error.details)
  return result.value as CallOutput<K>
}
