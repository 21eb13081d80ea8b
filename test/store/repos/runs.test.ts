import { describe, expect, it } from 'vitest'
import { StoreConflictError, StoreNotFoundError } from '../../../src-main/store/errors'
import { openTempStore, seedRunInputs } from '../helpers'

function storeWithRun() {
  const store = openTempStore()
  const inputs = seedRunInputs(store)
  const run = store.runs.create({
    name: 'first',
    config: { lr: 0.001, epochs: 2 },
    outDir: '/runs/1',
    ...inputs
  })
  return { store, runs: store.runs, run, inputs }
}

describe('runs repository', () => {
  it('creates a queued run and returns its RunDetail', () => {
    const { runs, run, inputs } = storeWithRun()
    expect(run).toEqual({
      id: run.id,
      name: 'first',
      recipe: 'sft-lora',
      status: 'queued',
      error: null,
      baseModelId: inputs.baseModelId,
      datasetVersionId: inputs.datasetVersionId,
      device: 'cpu',
      progress: null,
      pendingControl: null,
      createdAt: expect.stringMatching(/Z$/),
      startedAt: null,
      finishedAt: null,
      config: { lr: 0.001, epochs: 2 },
      checkpoints: [],
      segments: [],
      outDir: '/runs/1',
      owner: null
    })
    expect(runs.get(run.id)).toEqual(run)
    expect(runs.get(12345)).toBeNull()
  })

  it('records the recipe version and out dir a run used, even after the recipe moves on', () => {
    const { store, runs, run } = storeWithRun()
    store.recipes.upsert({ name: 'sft-lora', version: 2, description: '', paramsSchema: {} })
    runs.setOutDir(run.id, '/runs/first')
    expect(runs.getRecord(run.id)).toMatchObject({ recipeVersion: 1, outDir: '/runs/first' })
  })

  it('names the missing input when creating a run', () => {
    const { runs, inputs } = storeWithRun()
    expect(() => runs.create({ name: 'x', config: {}, ...inputs, baseModelId: 77 })).toThrow(
      'runs.create: no base model with id 77'
    )
    expect(() => runs.create({ name: 'x', config: {}, ...inputs, datasetVersionId: 78 })).toThrow(
      StoreNotFoundError
    )
    expect(() => runs.create({ name: 'x', config: {}, ...inputs, recipeId: 79 })).toThrow(
      /no recipe with id 79/
    )
  })

  it('lists runs newest first, by page', () => {
    const { runs, run, inputs } = storeWithRun()
    const second = runs.create({ name: 'second', config: {}, ...inputs })
    expect(runs.list().map((r) => r.id)).toEqual([second.id, run.id])
    expect(runs.list({ limit: 1, offset: 1 }).map((r) => r.name)).toEqual(['first'])
    expect(runs.list()[0]).not.toHaveProperty('config')
  })

  it('sets started_at once, finished_at on finishing, and clears it on resume', () => {
    const { runs, run } = storeWithRun()
    const running = runs.setStatus(run.id, 'running')
    expect(running.startedAt).toMatch(/Z$/)
    expect(running.finishedAt).toBeNull()
    expect(runs.setStatus(run.id, 'paused').startedAt).toBe(running.startedAt)
    expect(runs.setStatus(run.id, 'running').startedAt).toBe(running.startedAt)

    const failed = runs.setStatus(run.id, 'failed', 'loss is NaN at step 12')
    expect(failed).toMatchObject({
      status: 'failed',
      error: 'loss is NaN at step 12',
      finishedAt: expect.any(String)
    })
    const resumed = runs.setStatus(run.id, 'running')
    expect(resumed).toMatchObject({ error: null, finishedAt: null, startedAt: running.startedAt })
    expect(() => runs.setStatus(999, 'running')).toThrow('runs.setStatus: no run with id 999')
  })

  it('marks a queued or active run interrupted only for the owner that holds it', () => {
    const { runs, inputs } = storeWithRun()
    const owner = { id: 'owner-a', pid: process.pid }
    const running = runs.create({ name: 'a', config: {}, ...inputs, owner }).id
    runs.setStatus(running, 'running')
    expect(runs.claimed().find((r) => r.id === running)).toMatchObject({
      ownerId: 'owner-a',
      status: 'running'
    })

    expect(runs.interruptIfOwnedBy(running, 'owner-b', 'gone')).toBe(false)
    expect(runs.interruptIfOwnedBy(running, 'owner-a', 'its process is gone')).toBe(true)
    expect(runs.get(running)).toMatchObject({
      status: 'interrupted',
      error: 'its process is gone',
      finishedAt: expect.any(String),
      owner: null
    })
    expect(runs.claimed().map((r) => r.id)).not.toContain(running)
    expect(runs.interruptIfOwnedBy(running, 'owner-a', 'again')).toBe(false)
  })

  it('passes control requests to the owner once, and heartbeats only its own runs', () => {
    const { runs, run } = storeWithRun()
    runs.claim(run.id, { id: 'owner-a', pid: 4242 })
    runs.setControl(run.id, 'pause')
    expect(runs.get(run.id)!.pendingControl).toBe('pause')
    expect(runs.takeControls('owner-b')).toEqual([])
    expect(runs.takeControls('owner-a')).toEqual([{ id: run.id, control: 'pause' }])
    expect(runs.takeControls('owner-a')).toEqual([])
    expect(runs.get(run.id)!.pendingControl).toBeNull()
    expect(runs.get(run.id)!.owner).toMatchObject({ pid: 4242, heartbeatAt: expect.stringMatching(/Z$/) })
  })

  it('keeps log lines per run in order and reads them after an id', () => {
    const { runs, run } = storeWithRun()
    const first = runs.appendLog(run.id, 'info', 'queued')
    runs.appendLog(run.id, 'warn', 'slow')
    expect(runs.logs(run.id).map((l) => [l.level, l.message])).toEqual([
      ['info', 'queued'],
      ['warn', 'slow']
    ])
    expect(runs.logs(run.id, first.id).map((l) => l.message)).toEqual(['slow'])
  })

  it('appends metric batches, replacing a point written again for the same step', () => {
    const { runs, run } = storeWithRun()
    runs.appendMetrics(run.id, [
      { step: 1, name: 'loss', value: 3 },
      { step: 1, name: 'lr', value: 0.001 },
      { step: 2, name: 'loss', value: 2.5 }
    ])
    runs.appendMetrics(run.id, [
      { step: 2, name: 'loss', value: 2.4 },
      { step: 3, name: 'loss', value: Number.NaN }
    ])
    expect(runs.metrics(run.id, { name: 'loss' })).toEqual([
      { step: 1, name: 'loss', value: 3 },
      { step: 2, name: 'loss', value: 2.4 },
      { step: 3, name: 'loss', value: Number.NaN }
    ])
    expect(runs.metrics(run.id, { afterStep: 1 }).map((p) => p.step)).toEqual([2, 3])
    expect(runs.metrics(run.id)).toHaveLength(4)
    expect(runs.metricNames(run.id)).toEqual(['loss', 'lr'])
  })

  it('writes no point of a batch that fails', () => {
    const { runs, run } = storeWithRun()
    const bad = { step: 2, name: null as unknown as string, value: 1 }
    expect(() => runs.appendMetrics(run.id, [{ step: 1, name: 'loss', value: 1 }, bad])).toThrow(/NOT NULL/)
    expect(runs.metrics(run.id)).toEqual([])
    expect(() => runs.appendMetrics(4040, [])).toThrow(StoreNotFoundError)
  })

  it('adds checkpoints, lists them by step and finds the latest', () => {
    const { runs, run } = storeWithRun()
    expect(runs.latestCheckpoint(run.id)).toBeNull()
    runs.addCheckpoint(run.id, { step: 200, path: '/runs/1/ckpt-200', metrics: { loss: 1.5 } })
    const first = runs.addCheckpoint(run.id, { step: 100, path: '/runs/1/ckpt-100' })
    expect(first).toEqual({
      id: first.id,
      step: 100,
      path: '/runs/1/ckpt-100',
      metrics: {},
      createdAt: expect.any(String)
    })
    expect(runs.checkpoints(run.id).map((c) => c.step)).toEqual([100, 200])
    expect(runs.latestCheckpoint(run.id)).toMatchObject({ step: 200, metrics: { loss: 1.5 } })
    expect(runs.get(run.id)!.checkpoints.map((c) => c.step)).toEqual([100, 200])
    expect(() => runs.addCheckpoint(run.id, { step: 100, path: '/x' })).toThrow(StoreConflictError)
    expect(runs.deleteCheckpoint(first.id)).toBe(true)
    expect(runs.checkpoints(run.id).map((c) => c.step)).toEqual([200])
  })

  it('deletes a run with its metrics and checkpoints, but not while it is active', () => {
    const { store, runs, run } = storeWithRun()
    runs.appendMetrics(run.id, [{ step: 1, name: 'loss', value: 1 }])
    runs.addCheckpoint(run.id, { step: 1, path: '/c' })
    runs.setStatus(run.id, 'running')
    expect(() => runs.delete(run.id)).toThrow(/runs.delete: run \d+ is running; stop or cancel it first/)
    runs.setStatus(run.id, 'completed')
    expect(runs.delete(run.id)).toBe(true)
    expect(runs.get(run.id)).toBeNull()
    expect(store.db.prepare('SELECT COUNT(*) FROM run_metrics').pluck().get()).toBe(0)
    expect(store.db.prepare('SELECT COUNT(*) FROM checkpoints').pluck().get()).toBe(0)
    expect(runs.delete(run.id)).toBe(false)
  })
})
