import type { Handlers } from './handlers'

export const datasetHandlers: Pick<Handlers, 'datasets.list' | 'datasets.create'> = {
  'datasets.list': (_input, ctx) => ctx.store.datasets.list(),
  'datasets.create': (input, ctx) => ctx.store.datasets.create(input)
}
