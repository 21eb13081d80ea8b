import { startEvaluation } from './eval-launcher'
import { notFound } from './errors'
import type { Handlers } from './handlers'

export const evaluationHandlers: Pick<
  Handlers,
  | 'evaluations.list'
  | 'evaluations.run'
  | 'evaluations.results'
  | 'comparisons.list'
  | 'comparisons.create'
  | 'comparisons.vote'
> = {
  'evaluations.list': (input, ctx) => ctx.store.evaluations.list(input),
  'evaluations.run': (input, ctx) => startEvaluation(ctx, input),
  'evaluations.results': (input, ctx) => {
    if (!ctx.store.evaluations.get(input.id)) throw notFound('evaluation', input.id)
    return ctx.store.evaluations
      .results(input.id, { limit: input.limit, offset: input.offset })
      .map(({ sampleKey, prompt, output, expected, score }) => ({
        sampleKey,
        prompt,
        output,
        expected,
        score
      }))
  },
  'comparisons.list': (input, ctx) => ctx.store.evaluations.listComparisons(input),
  'comparisons.create': (input, ctx) => {
    const { evaluations } = ctx.store
    const a = evaluations.resultByKey(input.evaluationAId, input.sampleKey)
    const b = evaluations.resultByKey(input.evaluationBId, input.sampleKey)
    if (!a) throw notFound(`item of evaluation ${input.evaluationAId}`, input.sampleKey)
    if (!b) throw notFound(`item of evaluation ${input.evaluationBId}`, input.sampleKey)
    return evaluations.createComparison({
      prompt: a.prompt,
      evaluationAId: input.evaluationAId,
      evaluationBId: input.evaluationBId,
      outputA: a.output,
      outputB: b.output
    })
  },
  'comparisons.vote': (input, ctx) => {
    const comparison = ctx.store.evaluations.vote(input.id, input.vote)
    if (!comparison) throw notFound('comparison', input.id)
    return comparison
  }
}
