import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultModelDir } from '../../src-main/resources'
import type { ExportRecord } from '../../src-preload/contract'
import { openApi, quickRun, seedTrainingInputs, type TestApi } from '../api/run-fixtures'
import { tempDir } from '../helpers/temp'
import { runCaptured as cli } from './captured-cli'

describe('finetune-studio export', () => {
  const temp = tempDir('fs-cli-export-')
  const store = join(temp.dir, 'store')
  let app: TestApi
  let runId = 0
  let checkpointId = 0

  beforeAll(async () => {
    app = openApi(store)
    const inputs = seedTrainingInputs(app)
    const run = await app.call('runs.start', quickRun(inputs, { maxSteps: 10, saveEvery: 10 }))
    expect((await app.runs.waitForRun(run.id)).status).toBe('completed')
    runId = run.id
    checkpointId = (await app.call('runs.get', { id: run.id })).checkpoints[0].id
  }, 120_000)
  afterAll(async () => {
    await app.dispose()
    temp.cleanup()
  })

  it('exports a checkpoint merged in bfloat16 to a folder the user names, recorded with its lineage', async () => {
    const out = join(temp.dir, 'merged')
    const args = ['export', '--store', store, '--checkpoint', String(checkpointId), '--format', 'hf']
    const result = await cli([...args, '--dtype', 'bfloat16', '--out', out, '--json'])
    expect(result.err).toBe('')
    expect(result.code).toBe(0)
    const record = JSON.parse(result.out) as ExportRecord
    expect(record).toMatchObject({
      sourceKind: 'checkpoint',
      runId,
      checkpointId,
      step: 10,
      variant: 'bfloat16'
    })
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16')

    const again = await cli([...args, '--out', out])
    expect(again.code).toBe(1)
    expect(again.err).toContain('pass overwrite')

    const list = await cli(['exports', 'list', '--store', store, '--run', String(runId)])
    expect(list.out).toMatch(
      new RegExp(`^${record.id} +.* @ step 10 +hf bfloat16 +completed +\\d+ +${out}$`, 'm')
    )
  })

  it('exports a registered model folder as GGUF into the store, and deletes it with its files', async () => {
    const result = await cli([
      'export',
      '--store',
      store,
      '--model',
      defaultModelDir(),
      '--format',
      'gguf',
      '--type',
      'F32'
    ])
    expect(result.code).toBe(0)
    const match = /^export (\d+): gguf F32 of stories260K → (.+\.gguf)$/.exec(result.out)
    expect(match).not.toBeNull()
    expect(readFileSync(match![2]).subarray(0, 4).toString('latin1')).toBe('GGUF')
    const deleted = await cli(['exports', 'delete', '--store', store, match![1]])
    expect(deleted.out).toBe(`deleted export ${match![1]} and its files`)
    expect(existsSync(match![2])).toBe(false)
  })

  it('refuses a missing or doubled source and an unregistered model folder with a usage error', async () => {
    const none = await cli(['export', '--store', store])
    expect(none.code).toBe(2)
    expect(none.err).toContain('exactly one of --model DIR, --run N and --checkpoint ID')
    const both = await cli(['export', '--store', store, '--run', '1', '--checkpoint', '1'])
    expect(both.code).toBe(2)
    const stranger = await cli(['export', '--store', store, '--model', temp.dir])
    expect(stranger.code).toBe(2)
    expect(stranger.err).toContain('not a registered model')
    const badId = await cli(['export', '--store', store, '--run', 'x1'])
    expect(badId.err).toContain('--run must be an id')
  })
})
