import { notFound } from './errors'
import type { Handlers } from './handlers'

export const jobHandlers: Pick<Handlers, 'jobs.list' | 'jobs.cancel'> = {
  'jobs.list': (_input, ctx) => ctx.jobs.list(),
  'jobs.cancel': (input, ctx) => {
    const job = ctx.jobs.cancel(input.id)
    if (!job) throw notFound('job', input.id)
    return job
  }
}
