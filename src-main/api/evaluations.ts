import { notFound } from './errors'
import type { Handlers } from './handlers'

export const evaluationHandlers: Pick<
  Handlers,
  'evaluations.list' | 'comparisons.list' | 'comparisons.vote'
> = {
  'evaluations.list': (input, ctx) => ctx.store.evaluations.list(input),
  'comparisons.list': (input, ctx) => ctx.store.evaluations.listComparisons(input),
  'comparisons.vote': (input, ctx) => {
    const comparison = ctx.store.evaluations.vote(input.id, input.vote)
    if (!comparison) throw notFound('comparison', input.id)
    return comparison
  }
}
