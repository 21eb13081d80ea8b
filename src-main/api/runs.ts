import { notFound } from './errors'
import { startRun } from './run-launcher'
import type { Handlers } from './handlers'

export const runHandlers: Pick<Handlers, 'runs.list' | 'runs.start' | 'runs.get' | 'runs.metrics'> = {
  'runs.start': (input, ctx) => startRun(ctx, input),
  'runs.list': (input, ctx) => ctx.store.runs.list(input),
  'runs.get': (input, ctx) => {
    const run = ctx.store.runs.get(input.id)
    if (!run) throw notFound('run', input.id)
    return run
  },
  'runs.metrics': (input, ctx) => {
    if (!ctx.store.runs.get(input.id)) throw notFound('run', input.id)
    return ctx.store.runs.metrics(input.id, { name: input.name, afterStep: input.afterStep })
  }
}
