/**
 * Runs whose process dies: a training process killed with SIGKILL mid-run shows interrupted (also
 * to the next process that opens the store) and resumes from its last checkpoint with the same
 * plan, its losses bit-identical to an uninterrupted run's; a run left active by a process that is
 * gone (dead pid, stale heartbeat) becomes interrupted at the next start or listing, never
 * completed; and a run that fails shows failed with the reason, in runs.get and `runs show`.
 */
import { cpSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../src-main/cli/index'
import { defaultModelDir } from '../../src-main/resources'
import { deadPid } from '../helpers/processes'
import { tempDir } from '../helpers/temp'
import {
  lossesOf,
  nextEvent,
  openApi,
  quickRun,
  sameBits,
  seedTrainingInputs,
  statusIs,
  type TestApi
} from './run-fixtures'

describe('run recovery and failure', () => {
  const temp = tempDir('fs-run-recovery-')
  const store = join(temp.dir, 'store')
  let inputs: ReturnType<typeof seedTrainingInputs>
  beforeAll(async () => {
    const api = openApi(store)
    inputs = seedTrainingInputs(api)
    await api.dispose()
  })
  afterAll(() => temp.cleanup())

  it('SIGKILL of the training process: interrupted, then resumed exactly from the last checkpoint', async () => {
    const settings = quickRun(inputs, { lrScheduler: 'linear', maxSteps: 80, saveEvery: 10 })
    const first = openApi(store)
    let runId: number
    try {
      const run = await first.call('runs.start', settings)
      runId = run.id
      const interrupted = statusIs(first, run.id, 'interrupted')
      // Killed from inside the event handler: at most a step after the first checkpoint is on disk.
      await nextEvent(first, 'run.progress', (p) => {
        if (p.runId !== run.id || p.step < 12) return false
        process.kill(first.runs.trainingPid(run.id)!, 'SIGKILL')
        return true
      })
      expect((await interrupted).error).toMatch(/killed \(SIGKILL\)/)
    } finally {
      await first.dispose()
    }

    const next = openApi(store)
    try {
      const shown = await next.call('runs.get', { id: runId })
      expect(shown.status).toBe('interrupted')
      const lastCheckpoint = shown.checkpoints.at(-1)!.step
      expect(lastCheckpoint).toBeGreaterThanOrEqual(10)
      expect(lastCheckpoint).toBeLessThan(80)

      const resumed = await next.call('runs.resume', { id: runId })
      expect(['queued', 'running']).toContain(resumed.status)
      expect(await next.runs.waitForRun(runId)).toMatchObject({ status: 'completed', error: null })
      const detail = await next.call('runs.get', { id: runId })
      expect(
        detail.segments.map(({ kind, fromStep, totalSteps }) => ({ kind, fromStep, totalSteps }))
      ).toEqual([
        { kind: 'start', fromStep: 0, totalSteps: 80 },
        { kind: 'resume', fromStep: lastCheckpoint, totalSteps: 80 }
      ])

      const reference = await next.call('runs.start', settings)
      expect((await next.runs.waitForRun(reference.id)).status).toBe('completed')
      const resumedLosses = lossesOf(next, runId)
      const uninterrupted = lossesOf(next, reference.id)
      expect(resumedLosses).toHaveLength(80)
      expect(sameBits(resumedLosses.slice(lastCheckpoint), uninterrupted.slice(lastCheckpoint))).toBe(true)
      expect(sameBits(resumedLosses, uninterrupted)).toBe(true)
    } finally {
      await next.dispose()
    }
  })

  it('marks runs of a dead or silent owner interrupted at the next start and listing', async () => {
    const setup = openApi(store)
    const ghost = { id: 'ghost-owner', pid: deadPid() }
    const recipeId = setup.store.recipes.upsert({
      name: 'sft',
      version: 1,
      description: '',
      paramsSchema: {}
    }).id
    const make = (api: TestApi, name: string, owner: { id: string; pid: number }) =>
      api.store.runs.create({ name, recipeId, ...inputs, config: {}, owner }).id
    const running = make(setup, 'was running', ghost)
    setup.store.runs.setStatus(running, 'running')
    const queued = make(setup, 'was queued', ghost)
    const completed = make(setup, 'was completed', ghost)
    setup.store.runs.setStatus(completed, 'completed')
    await setup.dispose()

    const api = openApi(store)
    try {
      expect(api.store.runs.getSummary(running)).toMatchObject({
        status: 'interrupted',
        error: expect.stringContaining(`its process (pid ${ghost.pid}) is gone; it was running`)
      })
      expect(api.store.runs.getSummary(queued)!.status).toBe('interrupted')
      expect(api.store.runs.getSummary(completed)!.status).toBe('completed')

      // Alive but silent: this very process, with a heartbeat far in the past.
      const silent = make(api, 'silent', { id: 'silent-owner', pid: process.pid })
      api.store.runs.setStatus(silent, 'paused')
      api.store.db
        .prepare("UPDATE runs SET heartbeat_at = '2000-01-01T00:00:00.000Z' WHERE id = ?")
        .run(silent)
      const listed = await api.call('runs.list', {})
      expect(listed.find((r) => r.id === silent)).toMatchObject({ status: 'interrupted' })
      expect(api.store.runs.logs(silent).at(-1)!.message).toMatch(/^interrupted: .*it was paused/)
    } finally {
      await api.dispose()
    }
  })

  it('shows a run that fails (its model folder removed mid-run) as failed, with the reason', async () => {
    const modelCopy = join(temp.dir, 'model-copy')
    cpSync(defaultModelDir(), modelCopy, { recursive: true })
    const api: TestApi = openApi(store)
    let runId: number
    try {
      const model = api.store.models.register({
        name: 'copy',
        path: modelCopy,
        architecture: 'LlamaForCausalLM',
        parameterCount: 260_000,
        dtype: 'F32',
        contentHash: 'copy',
        config: {}
      })
      const run = await api.call(
        'runs.start',
        quickRun({ ...inputs, baseModelId: model.id }, { adapter: 'full', maxSteps: 6, saveEvery: 0 })
      )
      runId = run.id
      // Paused right after loading the model: remove its folder, then let training go on.
      const paused = statusIs(api, run.id, 'paused')
      await api.call('runs.pause', { id: run.id })
      await paused
      rmSync(modelCopy, { recursive: true })
      await api.call('runs.resume', { id: run.id })
      const failed = await api.runs.waitForRun(run.id)
      expect(failed.status).toBe('failed')
      expect(failed.error).toContain(modelCopy)
      expect((await api.call('runs.get', { id: run.id })).error).toBe(failed.error)
    } finally {
      await api.dispose()
    }
    const out: string[] = []
    const code = await runCli(['runs', 'show', String(runId), '--store', store], {
      out: (line) => out.push(line),
      err: (line) => out.push(line)
    })
    expect(code).toBe(0)
    expect(out.join('\n')).toMatch(
      new RegExp(`^status: +failed — .*${modelCopy.replace(/[/.]/g, '\\$&')}`, 'm')
    )
  })
})
