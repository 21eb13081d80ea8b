import { datasetJobs } from '../../datasets/jobs'
import type { JobKind } from '../protocol'
import { cachePruneJob } from './cache-prune'
import { engineExportJob } from './engine-export'
import { engineGenerateJob } from './engine-generate'
import { engineScoreJob } from './engine-score'
import { engineTrainJob } from './engine-train'
import { evalInspectJob } from './eval-inspect'
import { evalTasksJob } from './eval-tasks'
import { modelDescribeJob } from './model-describe'
import { modelDiscoverJob } from './model-discover'
import { modelInspectJob } from './model-inspect'
import { modelValidateJob } from './model-validate'
import { rewardsTestJob } from './rewards-test'
import { trainPreflightJob } from './train-preflight'

/** Every kind of job a worker can run. Registering a kind twice is a programming error. */
const registry = new Map<string, JobKind<never, unknown>>()

function register(job: JobKind<never, unknown>): void {
  if (registry.has(job.kind)) throw new Error(`job kind ${job.kind} is registered twice`)
  registry.set(job.kind, job)
}

register(modelInspectJob as JobKind<never, unknown>)
register(modelValidateJob as JobKind<never, unknown>)
register(modelDiscoverJob as JobKind<never, unknown>)
register(modelDescribeJob as JobKind<never, unknown>)
register(engineScoreJob as JobKind<never, unknown>)
register(engineGenerateJob as JobKind<never, unknown>)
register(engineTrainJob as JobKind<never, unknown>)
register(evalTasksJob as JobKind<never, unknown>)
register(evalInspectJob as JobKind<never, unknown>)
register(trainPreflightJob as JobKind<never, unknown>)
register(cachePruneJob as JobKind<never, unknown>)
register(rewardsTestJob as JobKind<never, unknown>)
register(engineExportJob as JobKind<never, unknown>)
for (const job of datasetJobs) register(job)

export function findJobKind(kind: string): JobKind<unknown, unknown> {
  const job = registry.get(kind)
  if (!job)
    throw new Error(`unknown job kind ${JSON.stringify(kind)}; known: ${[...registry.keys()].join(', ')}`)
  return job as JobKind<unknown, unknown>
}
