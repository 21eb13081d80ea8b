import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DATABASE_FILE, openStore } from '../../src-main/store'
import { LATEST_SCHEMA_VERSION, schemaVersion } from '../../src-main/store/db'
import { makeTempDir } from './helpers'

describe('openStore', () => {
  it('creates the folder and its database, and keeps data across reopening', () => {
    const dir = join(makeTempDir(), 'nested', 'store')
    const store = openStore(dir)
    expect(store.dir).toBe(dir)
    expect(existsSync(join(dir, DATABASE_FILE))).toBe(true)
    expect(schemaVersion(store.db)).toBe(LATEST_SCHEMA_VERSION)
    store.datasets.create({ name: 'kept' })
    store.close()
    expect(store.db.open).toBe(false)

    const reopened = openStore(dir)
    try {
      expect(reopened.datasets.list().map((d) => d.name)).toEqual(['kept'])
    } finally {
      reopened.close()
    }
  })
})
