/**
 * `finetune-studio runs …` against a store in which another API context (the app, say) trains: the
 * commands list and show its runs and control them through the store, and train in the foreground
 * where they must (continue, resume of an interrupted run). `train --store` records its run so it
 * is listed like the others.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultModelDir } from '../../src-main/resources'
import {
  nextEvent,
  openApi,
  ownerTicks,
  quickRun,
  seedTrainingInputs,
  statusIs,
  type TestApi
} from '../api/run-fixtures'
import { tempDir } from '../helpers/temp'
import { runCaptured } from './captured-cli'

const cli = runCaptured

describe('finetune-studio runs', () => {
  const temp = tempDir('fs-cli-runs-')
  const store = join(temp.dir, 'store')
  let app: TestApi
  let inputs: ReturnType<typeof seedTrainingInputs>
  beforeAll(() => {
    app = openApi(store)
    inputs = seedTrainingInputs(app)
  })
  afterAll(async () => {
    await app.dispose()
    temp.cleanup()
  })

  it('lists, pauses, resumes and stops a run the app trains; continues a finished run here', async () => {
    const run = await app.call('runs.start', quickRun(inputs, { maxSteps: 5000, saveEvery: 0 }))
    await nextEvent(app, 'run.progress', (p) => p.runId === run.id && p.step >= 2)
    await ownerTicks(app, run.id, 1)
    const id = String(run.id)

    const list = await cli(['runs', 'list', '--store', store])
    expect(list.code).toBe(0)
    expect(list.out).toMatch(
      new RegExp(`^${id} +sft-lora on stories260K +sft +cpu +running +\\d+/5000 `, 'm')
    )

    const paused = await cli(['runs', 'pause', id, '--store', store])
    expect(paused.err).toBe('')
    expect(paused.out).toMatch(new RegExp(`^run ${id} paused at step \\d+/5000$`))
    expect(app.store.runs.getSummary(run.id)!.status).toBe('paused')

    const resumed = await cli(['runs', 'resume', id, '--store', store])
    expect(resumed.out).toMatch(new RegExp(`^run ${id} running at step \\d+/5000$`))

    const stopped = await cli(['runs', 'stop', id, '--store', store])
    expect(stopped.out).toMatch(new RegExp(`^run ${id} stopped at step \\d+/5000$`))
    const log = await cli(['runs', 'log', id, '--store', store])
    expect(log.out).toMatch(/info +paused after step \d+/)
    expect(log.out).toMatch(/info +stopped$/m)

    const short = await app.call('runs.start', quickRun(inputs, { maxSteps: 4, saveEvery: 0 }))
    expect((await app.runs.waitForRun(short.id)).status).toBe('completed')
    const continued = await cli(['runs', 'continue', String(short.id), '--steps', '3', '--store', store])
    expect(continued.code).toBe(0)
    expect(continued.out).toBe(`run ${short.id} completed at step 7/7`)
    expect(continued.errLines.filter((line) => /^step \d+\/7 /.test(line))).toHaveLength(3)
    const shown = await cli(['runs', 'show', String(short.id), '--store', store])
    expect(shown.out).toMatch(/^status: +completed$/m)
    expect(shown.out).toMatch(/^segment: +continue from step 4 of 7 /m)
  })

  it('cancels a run and deletes it; refuses what a run in its state cannot do', async () => {
    const run = await app.call('runs.start', quickRun(inputs, { maxSteps: 5000, saveEvery: 0 }))
    await nextEvent(app, 'run.progress', (p) => p.runId === run.id && p.step >= 1)
    const id = String(run.id)
    const refused = await cli(['runs', 'delete', id, '--store', store])
    expect(refused.code).toBe(1)
    expect(refused.errLines[0]).toMatch(`runs.delete: run ${id} is running; stop or cancel it first`)

    const cancelled = await cli(['runs', 'cancel', id, '--store', store])
    expect(cancelled.out).toMatch(new RegExp(`^run ${id} cancelled at step \\d+/5000$`))
    const again = await cli(['runs', 'pause', id, '--store', store])
    expect(again.code).toBe(1)
    expect(again.errLines[0]).toContain(
      `runs.pause: run ${id} is cancelled; only a running run can be paused`
    )
    expect((await cli(['runs', 'delete', id, '--store', store])).out).toBe(`run ${id} deleted`)
    expect((await cli(['runs', 'show', id, '--store', store])).errLines[0]).toContain(
      `run ${id} does not exist`
    )
  })

  it('resumes an interrupted run here, and records `train --store` runs', async () => {
    const run = await app.call('runs.start', quickRun(inputs, { maxSteps: 30, saveEvery: 5 }))
    const interrupted = statusIs(app, run.id, 'interrupted')
    await nextEvent(app, 'run.progress', (p) => {
      if (p.runId !== run.id || p.step < 7) return false
      process.kill(app.runs.trainingPid(run.id)!, 'SIGKILL')
      return true
    })
    await interrupted
    const resumed = await cli(['runs', 'resume', String(run.id), '--store', store])
    expect(resumed.code).toBe(0)
    expect(resumed.out).toBe(`run ${run.id} completed at step 30/30`)

    const data = join(temp.dir, 'rows.jsonl')
    writeFileSync(data, '{"prompt": "", "completion": "Zob the dragon flew over the hill."}\n')
    const trained = await cli([
      ...['train', '--model', defaultModelDir(), '--data', data, '--out', join(temp.dir, 'cli-run')],
      ...['--max-steps', '3', '--store', store, '--json']
    ])
    expect(trained.code).toBe(0)
    const summary = JSON.parse(trained.out)
    expect(summary).toMatchObject({ runId: expect.any(Number), status: 'completed', step: 3 })
    const listed = JSON.parse((await cli(['runs', 'list', '--json', '--store', store])).out)
    expect(listed[0]).toMatchObject({ id: summary.runId, status: 'completed', datasetVersionId: null })
    const detail = await app.call('runs.get', { id: summary.runId })
    expect(detail.outDir).toBe(join(temp.dir, 'cli-run'))
    expect(detail.config).toMatchObject({ dataFile: data, dataHash: expect.stringMatching(/^[0-9a-f]{64}$/) })
    expect(app.store.runs.metrics(summary.runId, { name: 'loss' })).toHaveLength(3)
  })
})
