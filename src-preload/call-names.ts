/**
 * The names of every API call, as plain strings. The sandboxed preload script needs only these
 * (one named method per call) and must not bundle zod, so they live apart from the schemas in
 * contract.ts, which fails to compile if the two lists ever disagree.
 */
export const CALL_NAMES = [
  'system.info',
  'datasets.list',
  'datasets.create',
  'datasets.import',
  'datasets.cutVersion',
  'datasets.versions',
  'models.list',
  'models.register',
  'runs.list',
  'runs.start',
  'runs.get',
  'runs.metrics',
  'evaluations.list',
  'evaluations.run',
  'evaluations.results',
  'comparisons.list',
  'comparisons.create',
  'comparisons.vote',
  'jobs.list',
  'jobs.cancel'
] as const

/** The single IPC channel on which main pushes events to the window. */
export const EVENT_CHANNEL = 'finetune-studio:event'
