/**
 * Paths users name for us to write: datasets.export never writes inside the store folder (its own
 * studio.db least of all), however the path is spelled, nor over a file without overwrite; the
 * command line's `score --out` and `train --out` obey the same rules; and an export killed with
 * SIGKILL leaves a temporary file that the next export of that file removes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { INJECTED_FAULT_ENV } from '../../src-main/engine/checkpoint/injected-faults'
import { defaultModelDir } from '../../src-main/resources'
import { DATABASE_FILE } from '../../src-main/store'
import { runCaptured } from '../cli/captured-cli'
import { exited, startTsProcess } from '../helpers/processes'
import { tempDir } from '../helpers/temp'
import { openApi, type TestApi } from './run-fixtures'

describe('write paths', () => {
  const temp = tempDir('fs-write-paths-')
  const store = join(temp.dir, 'store')
  const outside = join(temp.dir, 'exports')
  let api: TestApi
  let datasetId: number
  beforeAll(() => {
    mkdirSync(outside)
    api = openApi(store)
    const dataset = api.store.datasets.create({ name: 'greetings' })
    datasetId = dataset.id
    api.store.datasets.addSamples(
      dataset.id,
      Array.from({ length: 3 }, (_, i) => ({
        conversation: {
          messages: [
            { role: 'user' as const, content: `hello ${i}` },
            { role: 'assistant' as const, content: `hi ${i}` }
          ]
        }
      }))
    )
  })
  afterAll(async () => {
    await api.dispose()
    temp.cleanup()
  })

  const exportTo = (path: string, overwrite = false) =>
    api.call('datasets.export', { datasetId, format: 'messages', path, overwrite })

  it('datasets.export refuses every path into the store folder, even with overwrite', async () => {
    const database = readFileSync(join(store, DATABASE_FILE))
    symlinkSync(store, join(outside, 'link-to-store'))
    for (const path of [
      join(store, DATABASE_FILE),
      join(store, 'new.jsonl'),
      join(store, 'runs', '..', DATABASE_FILE),
      join(outside, '..', basename(store), DATABASE_FILE),
      join(outside, 'link-to-store', DATABASE_FILE),
      join(outside, 'link-to-store', 'new.jsonl')
    ]) {
      await expect(exportTo(path, true), path).rejects.toMatchObject({
        code: 'invalid_input',
        message: expect.stringContaining('inside the store folder')
      })
    }
    expect(readFileSync(join(store, DATABASE_FILE)).equals(database)).toBe(true)
    expect(existsSync(join(store, 'new.jsonl'))).toBe(false)
    expect(api.store.datasets.get(datasetId)!.sampleCount).toBe(3)
  })

  it('datasets.export replaces an existing file only with overwrite', async () => {
    const path = join(outside, 'kept.jsonl')
    writeFileSync(path, 'mine\n')
    await expect(exportTo(path)).rejects.toMatchObject({ code: 'conflict' })
    expect(readFileSync(path, 'utf8')).toBe('mine\n')
    expect(await exportTo(path, true)).toMatchObject({ written: 3 })
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(4)
  })

  it('an export killed with SIGKILL leaves a temporary that the next export of that file removes', async () => {
    const path = join(outside, 'killed.jsonl')
    const exporter = startTsProcess(
      'test/helpers/children/export-dataset.ts',
      [store, String(datasetId), path],
      { [INJECTED_FAULT_ENV]: 'kill:killed.jsonl' }
    )
    expect(await exited(exporter)).toMatchObject({ signal: 'SIGKILL' })
    const leftovers = () => readdirSync(outside).filter((name) => name.startsWith('.killed.jsonl.'))
    expect(leftovers()).toHaveLength(1)
    expect(existsSync(path)).toBe(false)

    expect(await exportTo(path)).toMatchObject({ written: 3 })
    expect(leftovers()).toEqual([])
  })

  it('score --out refuses an existing file without --overwrite, and the store folder always', async () => {
    const out = join(outside, 'scores.jsonl')
    writeFileSync(out, 'mine\n')
    const data = join(outside, 'rows.jsonl')
    writeFileSync(data, JSON.stringify({ prompt: 'Once', completion: ' upon' }) + '\n')
    const score = (...extra: string[]) =>
      runCaptured(['score', '--model', defaultModelDir(), '--data', data, '--store', store, ...extra])
    const refused = await score('--out', out)
    expect(refused).toMatchObject({ code: 1, err: expect.stringContaining('pass --overwrite') })
    expect(readFileSync(out, 'utf8')).toBe('mine\n')
    const intoStore = await score('--out', join(store, DATABASE_FILE), '--overwrite')
    expect(intoStore).toMatchObject({ code: 1, err: expect.stringContaining('inside the store folder') })
  })

  it('train --out refuses the store folder and a folder holding files, --metrics-jsonl a file, without --overwrite', async () => {
    const data = join(outside, 'train.jsonl')
    writeFileSync(data, JSON.stringify({ prompt: 'Once', completion: ' upon a time' }) + '\n')
    const train = (out: string, ...extra: string[]) =>
      runCaptured([
        ...['train', '--model', defaultModelDir(), '--data', data, '--out', out, '--max-steps', '1'],
        ...['--store', store, ...extra]
      ])
    const intoStore = await train(join(store, 'runs', '99'))
    expect(intoStore).toMatchObject({ code: 1, err: expect.stringContaining('inside the store folder') })
    expect(existsSync(join(store, 'runs', '99'))).toBe(false)
    const busy = await train(outside)
    expect(busy).toMatchObject({ code: 1, err: expect.stringContaining('is not empty; pass --overwrite') })
    const metrics = await train(join(outside, 'fresh'), '--metrics-jsonl', data)
    expect(metrics).toMatchObject({ code: 1, err: expect.stringContaining('exists; pass --overwrite') })
    expect(existsSync(join(outside, 'fresh'))).toBe(false)
  })
})
