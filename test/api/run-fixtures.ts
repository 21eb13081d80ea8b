/**
 * A store with the embedded stories260K model registered and a small dataset version (16 training
 * and 4 validation conversations about a dragon), for run tests: every step takes a few
 * milliseconds on a CPU.
 */
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { createApiContext } from '../../src-main/api/context'
import { invoke } from '../../src-main/api/dispatch'
import type { RequestContext } from '../../src-main/api/handlers'
import { defaultModelDir } from '../../src-main/resources'
import type { CallName, CallOutput, Events, EventName, RunStatus } from '../../src-preload/contract'
import { tempDir } from '../helpers/temp'

export type TestApi = RequestContext & {
  dispose(): Promise<void>
  call<K extends CallName>(name: K, input: unknown): Promise<CallOutput<K>>
}

/** An API context on `storeDir` (a second one on the same folder plays another process). */
export function openApi(storeDir: string): TestApi {
  const api = createApiContext(storeDir)
  const ctx: RequestContext = { ...api, transport: 'direct' }
  return { ...ctx, dispose: api.dispose, call: (name, input) => invoke(name, input, ctx) }
}

function story(i: number): { messages: { role: 'user' | 'assistant'; content: string }[] } {
  const names = ['Zob', 'Mila', 'Tom', 'Ana']
  const things = ['a red stone', 'a big box', 'a tiny bird', 'a blue kite']
  return {
    messages: [
      { role: 'user', content: `Tell me a story about ${names[i % 4]}.` },
      {
        role: 'assistant',
        content: `Once upon a time, ${names[i % 4]} the little dragon found ${things[(i >> 2) % 4]}. It was happy.`
      }
    ]
  }
}

export interface TrainingInputs {
  baseModelId: number
  datasetVersionId: number
}

/** Registers the embedded model and cuts a dataset version; returns their ids. */
export function seedTrainingInputs(api: TestApi): TrainingInputs {
  const model = api.store.models.register({
    name: 'stories260K',
    path: defaultModelDir(),
    architecture: 'LlamaForCausalLM',
    parameterCount: 260_000,
    dtype: 'F32',
    contentHash: 'stories260K-test',
    config: {}
  })
  const dataset = api.store.datasets.create({ name: 'dragons', description: '' })
  api.store.datasets.addSamples(dataset.id, [
    ...Array.from({ length: 16 }, (_, i) => ({ conversation: story(i), split: 'train' as const })),
    ...Array.from({ length: 4 }, (_, i) => ({ conversation: story(i + 16), split: 'validation' as const }))
  ])
  const version = api.store.datasets.cutVersion(dataset.id, 'test')
  return { baseModelId: model.id, datasetVersionId: version.id }
}

/** A test file's store: `api` and `inputs` are set once the file's beforeAll has run. */
export interface TrainingStore {
  /** A fresh temporary folder, removed after the file's tests: the store and the tests' own files. */
  readonly folder: string
  /** The store's folder, inside `folder`: a second openApi on it plays another process. */
  readonly storeDir: string
  api: TestApi
  inputs: TrainingInputs
}

/**
 * A store in a fresh temporary folder for the tests of one file: opened with seedTrainingInputs
 * before them, disposed and removed after them.
 */
export function useTrainingStore(prefix?: string): TrainingStore {
  const temp = tempDir(prefix)
  const store = { folder: temp.dir, storeDir: join(temp.dir, 'store') } as TrainingStore
  beforeAll(() => {
    store.api = openApi(store.storeDir)
    store.inputs = seedTrainingInputs(store.api)
  })
  afterAll(async () => {
    await store.api.dispose()
    temp.cleanup()
  })
  return store
}

/** Settings for a quick LoRA run; `overrides` wins. */
export function quickRun(inputs: TrainingInputs, overrides: object = {}) {
  return {
    ...inputs,
    lr: 0.01,
    batchSize: 2,
    maxSteps: 40,
    saveEvery: 10,
    lrScheduler: 'linear',
    lora: { r: 4, targets: ['q_proj', 'v_proj'] },
    ...overrides
  }
}

/** Resolves with the first payload of `event` that `match` accepts. */
export function nextEvent<E extends EventName>(
  api: TestApi,
  event: E,
  match: (payload: Events[E]) => boolean
): Promise<Events[E]> {
  return new Promise((resolve) => {
    const stop = api.events.subscribe((name, payload) => {
      if ((name as EventName) === event && match(payload as Events[E])) {
        stop()
        resolve(payload as Events[E])
      }
    })
  })
}

export function statusIs(api: TestApi, runId: number, status: RunStatus): Promise<Events['run.status']> {
  return nextEvent(api, 'run.status', (p) => p.runId === runId && p.status === status)
}

/** Polls the store (another process's view) until `predicate` holds for the run. */
export async function until<T>(read: () => T, predicate: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = read()
    if (predicate(value)) return value
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/**
 * Waits until the run's owner has refreshed its heartbeat `ticks` times: each of its ticks also
 * flushes metrics and progress, so whatever the owner had to write by then is written.
 */
export async function ownerTicks(api: TestApi, runId: number, ticks: number): Promise<void> {
  let seen = api.store.runs.get(runId)!.owner?.heartbeatAt ?? null
  for (let i = 0; i < ticks; i++) {
    seen = await until(
      () => api.store.runs.get(runId)!.owner?.heartbeatAt ?? null,
      (beat) => beat !== seen,
      `a heartbeat of run ${runId}'s owner`
    )
  }
}

export function lossesOf(api: TestApi, runId: number): number[] {
  return api.store.runs.metrics(runId, { name: 'loss' }).map((p) => p.value)
}

/** Same length and every value the same bits (Object.is: no tolerance). */
export function sameBits(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((value, i) => Object.is(value, b[i]))
}
