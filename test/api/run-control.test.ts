/**
 * Run control through the API on the embedded stories260K: pause holds the trainer (no new metric
 * points) and resume goes on from the next step; stop ends with a checkpoint; continue trains the
 * same run further with its optimizer state (bit-identical to one uninterrupted run); cancel ends
 * the training process without a checkpoint; delete removes the run's files; the queue trains one
 * run per device at a time; and a second API context (another process) controls a run it does not
 * own through the store.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { learningRateAt } from '../../src-main/engine/train/schedule'
import { processExists } from '../../src-main/processes'
import {
  lossesOf,
  nextEvent,
  openApi,
  ownerTicks,
  quickRun,
  sameBits,
  statusIs,
  useTrainingStore
} from './run-fixtures'

describe('run control', () => {
  const fixture = useTrainingStore('fs-run-control-')

  it('pauses (no new points), resumes, stops with a checkpoint, continues bit-identically', async () => {
    const settings = quickRun(fixture.inputs, { lrScheduler: 'constant', maxSteps: 60, saveEvery: 0 })
    const run = await fixture.api.call('runs.start', settings)
    await nextEvent(fixture.api, 'run.progress', (p) => p.runId === run.id && p.step >= 3)

    const paused = statusIs(fixture.api, run.id, 'paused')
    await fixture.api.call('runs.pause', { id: run.id })
    await paused
    const pausedStep = fixture.api.store.runs.getSummary(run.id)!.progress!.step
    const atPause = fixture.api.store.runs.metrics(run.id)
    expect(atPause.filter((p) => p.name === 'loss').at(-1)!.step).toBe(pausedStep)
    await ownerTicks(fixture.api, run.id, 4)
    expect(fixture.api.store.runs.metrics(run.id)).toEqual(atPause)
    expect(fixture.api.store.runs.getSummary(run.id)!.status).toBe('paused')

    const resumedStep = nextEvent(fixture.api, 'run.progress', (p) => p.runId === run.id)
    await fixture.api.call('runs.resume', { id: run.id })
    expect((await resumedStep).step).toBe(pausedStep + 1)

    const stopped = statusIs(fixture.api, run.id, 'stopped')
    const stopping = await fixture.api.call('runs.stop', { id: run.id })
    expect(stopping.status).toBe('stopping')
    await stopped
    const afterStop = await fixture.api.call('runs.get', { id: run.id })
    const stopStep = afterStop.progress!.step
    expect(stopStep).toBeLessThan(60)
    expect(afterStop.checkpoints.at(-1)!.step).toBe(stopStep)
    expect(existsSync(join(afterStop.checkpoints.at(-1)!.path, 'optimizer.safetensors'))).toBe(true)
    expect(afterStop.owner).toBeNull()

    await fixture.api.call('runs.continue', { id: run.id, addSteps: 10 })
    const continued = await fixture.api.runs.waitForRun(run.id)
    expect(continued).toMatchObject({ status: 'completed', progress: { step: 70, totalSteps: 70 } })
    const detail = await fixture.api.call('runs.get', { id: run.id })
    expect(detail.segments.map(({ kind, fromStep, totalSteps }) => ({ kind, fromStep, totalSteps }))).toEqual(
      [
        { kind: 'start', fromStep: 0, totalSteps: 60 },
        { kind: 'continue', fromStep: stopStep, totalSteps: 70 }
      ]
    )
    expect(fixture.api.store.runs.metrics(run.id, { name: 'loss' }).map((p) => p.step)).toEqual(
      Array.from({ length: 70 }, (_, i) => i + 1)
    )

    // A constant schedule is unchanged by the continuation, so the run must equal one planned for 70.
    const reference = await fixture.api.call('runs.start', { ...settings, maxSteps: 70 })
    expect((await fixture.api.runs.waitForRun(reference.id)).status).toBe('completed')
    expect(sameBits(lossesOf(fixture.api, run.id), lossesOf(fixture.api, reference.id))).toBe(true)
  })

  it('cancels a run at once (no checkpoint, process gone) and deletes it with its files', async () => {
    const run = await fixture.api.call(
      'runs.start',
      quickRun(fixture.inputs, { maxSteps: 5000, saveEvery: 0 })
    )
    await nextEvent(fixture.api, 'run.progress', (p) => p.runId === run.id && p.step >= 1)
    const pid = fixture.api.runs.trainingPid(run.id)!
    expect(pid).not.toBe(process.pid)
    await expect(fixture.api.call('runs.delete', { id: run.id })).rejects.toMatchObject({ code: 'conflict' })

    const cancelled = statusIs(fixture.api, run.id, 'cancelled')
    await fixture.api.call('runs.cancel', { id: run.id })
    await cancelled
    const detail = await fixture.api.call('runs.get', { id: run.id })
    expect(detail.checkpoints).toEqual([])
    expect(detail.error).toBeNull()
    expect(processExists(pid)).toBe(false)

    expect(existsSync(detail.outDir!)).toBe(true)
    expect(await fixture.api.call('runs.delete', { id: run.id })).toEqual({ deleted: true })
    expect(existsSync(detail.outDir!)).toBe(false)
    await expect(fixture.api.call('runs.get', { id: run.id })).rejects.toMatchObject({ code: 'not_found' })
    expect(fixture.api.store.runs.logs(run.id)).toEqual([])
  })

  it('trains one run per device at a time, in order; continuing re-plans a linear schedule', async () => {
    const statuses: string[] = []
    const stop = fixture.api.events.subscribe((event, payload) => {
      if (event === 'run.status') {
        const { runId, status } = payload as { runId: number; status: string }
        statuses.push(`${runId}:${status}`)
      }
    })
    const settings = quickRun(fixture.inputs, { maxSteps: 3, saveEvery: 0, lrScheduler: 'linear' })
    const a = await fixture.api.call('runs.start', settings)
    const b = await fixture.api.call('runs.start', settings)
    const c = await fixture.api.call('runs.start', settings)
    expect([a.status, b.status, c.status]).toEqual(['running', 'queued', 'queued'])
    for (const run of [a, b, c]) expect((await fixture.api.runs.waitForRun(run.id)).status).toBe('completed')
    stop()
    const order = statuses.filter((s) => /:(running|completed)$/.test(s))
    expect(order).toEqual([
      `${a.id}:running`,
      `${a.id}:completed`,
      `${b.id}:running`,
      `${b.id}:completed`,
      `${c.id}:running`,
      `${c.id}:completed`
    ])

    await fixture.api.call('runs.continue', { id: a.id, addSteps: 5 })
    expect((await fixture.api.runs.waitForRun(a.id)).status).toBe('completed')
    const lrs = fixture.api.store.runs.metrics(a.id, { name: 'lr' })
    const planned = (total: number, step: number) =>
      learningRateAt({ kind: 'linear', baseLr: 0.01, warmupSteps: 0, totalSteps: total }, step - 1)
    expect(lrs.map((p) => p.value)).toEqual([
      ...[1, 2, 3].map((step) => planned(3, step)),
      ...[4, 5, 6, 7, 8].map((step) => planned(8, step))
    ])
    await expect(fixture.api.call('runs.continue', { id: a.id, addEpochs: 1 })).rejects.toThrow(
      /planned in steps \(8\); continue it with addSteps/
    )
  })

  it('obeys pause, resume and stop asked by another process through the store', async () => {
    const run = await fixture.api.call(
      'runs.start',
      quickRun(fixture.inputs, { maxSteps: 5000, saveEvery: 0 })
    )
    await nextEvent(fixture.api, 'run.progress', (p) => p.runId === run.id && p.step >= 2)
    const other = openApi(fixture.storeDir)
    try {
      const pausedSeenByOther = statusIs(other, run.id, 'paused')
      const asked = await other.call('runs.pause', { id: run.id })
      expect(asked).toMatchObject({ status: 'running', pendingControl: 'pause' })
      await pausedSeenByOther
      expect(fixture.api.store.runs.getSummary(run.id)).toMatchObject({
        status: 'paused',
        pendingControl: null
      })

      const runningSeenByOther = statusIs(other, run.id, 'running')
      await other.call('runs.resume', { id: run.id })
      await runningSeenByOther
      const progressSeenByOther = nextEvent(other, 'run.progress', (p) => p.runId === run.id)
      expect((await progressSeenByOther).totalSteps).toBe(5000)

      const stoppedSeenByOther = statusIs(other, run.id, 'stopped')
      await other.call('runs.stop', { id: run.id })
      await stoppedSeenByOther
      const detail = await other.call('runs.get', { id: run.id })
      expect(detail.checkpoints.at(-1)!.step).toBe(detail.progress!.step)
      const log = (await other.call('runs.log', { id: run.id })).map((l) => l.message)
      expect(log).toContainEqual(expect.stringMatching(/^paused after step \d+$/))
      expect(log).toContainEqual(expect.stringMatching(/^resumed after step \d+$/))
      expect(log.at(-1)).toBe('stopped')
    } finally {
      await other.dispose()
    }
  })
})
