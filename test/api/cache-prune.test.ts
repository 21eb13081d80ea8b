/** The app and the server prune the store's graph cache in the background as their context opens. */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createApiContext } from '../../src-main/api/context'
import { graphCacheDir } from '../../src-main/store/location'
import { CACHE_PRUNE_JOB } from '../../src-main/jobs/kinds/cache-prune'
import { DAY_MS, writeFakeWeights } from '../helpers/graph-cache'
import { tempDir } from '../helpers/temp'

describe('cache pruning on open', () => {
  let temp: ReturnType<typeof tempDir>
  let storeDir: string
  let api: ReturnType<typeof createApiContext> | null
  beforeEach(() => {
    temp = tempDir()
    storeDir = join(temp.dir, 'store')
    api = null
  })
  afterEach(async () => {
    await api?.dispose()
    temp.cleanup()
  })

  function writeEntries(): { stale: string; used: string } {
    const cacheDir = graphCacheDir(storeDir)
    return {
      stale: writeFakeWeights(cacheDir, { key: 'stale', bytes: 64, usedAt: Date.now() - 60 * DAY_MS }),
      used: writeFakeWeights(cacheDir, { key: 'used', bytes: 64, usedAt: Date.now() - DAY_MS })
    }
  }

  it('submits one prune job that removes what was not used for too long', async () => {
    const { stale, used } = writeEntries()
    api = createApiContext(storeDir, { pruneCacheOnOpen: true, indexSearchOnOpen: false })
    const jobs = api.jobs.list()
    expect(jobs.map((job) => job.kind)).toEqual([CACHE_PRUNE_JOB])
    const done = await api.jobs.wait(jobs[0].id)
    expect(done.status).toBe('completed')
    expect(existsSync(stale)).toBe(false)
    expect(existsSync(used)).toBe(true)
  })

  it('starts nothing unless asked, or when there is no cache yet', async () => {
    const { stale } = writeEntries()
    api = createApiContext(storeDir, { indexSearchOnOpen: false })
    expect(api.jobs.list()).toEqual([])
    expect(existsSync(stale)).toBe(true)
    await api.dispose()
    api = null

    api = createApiContext(join(temp.dir, 'fresh-store'), {
      pruneCacheOnOpen: true,
      indexSearchOnOpen: false
    })
    expect(api.jobs.list()).toEqual([])
  })
})
