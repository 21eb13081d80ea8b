import { notFound } from './errors'
import type { Handlers } from './handlers'

export const runHandlers: Pick<Handlers, 'runs.list' | 'runs.get' | 'runs.metrics'> = {
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
