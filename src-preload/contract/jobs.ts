/** Jobs: engine and dataset work the app runs in the background, with progress and cancel. */
import { z } from 'zod'
import { call, noInput } from './shared'

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled'

export interface JobSummary {
  id: string
  kind: string
  status: JobStatus
  progress: { done: number; total: number; message: string } | null
  error: string | null
  createdAt: string
  result?: unknown
}

export const jobCalls = {
  'jobs.list': call<JobSummary[]>()('Jobs of this session: queued, running and finished.', noInput),
  'jobs.cancel': call<JobSummary>()(
    'Cancel a queued or running job.',
    z.object({ id: z.string().min(1) }).strict()
  )
} as const
