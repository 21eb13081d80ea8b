/**
 * What a killed import into a new dataset leaves (a hidden dataset and the rows it had written) is
 * gone the next time any process opens the store, at once when the importing process is gone; an
 * import that is still alive keeps its rows.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { DATABASE_FILE, openStore } from '../../src-main/store'
import { until } from '../api/run-fixtures'
import { deadPid, exited, startTsProcess } from '../helpers/processes'
import { makeTempDir } from './helpers'

function count(db: Database.Database, table: 'samples' | 'datasets'): number {
  return db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number
}

/** A hidden dataset as an import creating it leaves it, with one sample; returns its id. */
function hiddenImport(db: Database.Database, name: string, pid: number): number {
  const id = db
    .prepare<[string, number], number>(
      `INSERT INTO datasets (name, import_heartbeat_at, import_pid)
       VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?) RETURNING id`
    )
    .pluck()
    .get(name, pid)!
  db.prepare(
    `INSERT INTO samples (dataset_id, conversation, content_hash) VALUES (?, '{"messages":[]}', 'h')`
  ).run(id)
  return id
}

describe('abandoned imports when the store opens', () => {
  it('removes the hidden rows of an import killed with SIGKILL', async () => {
    const dir = makeTempDir()
    openStore(dir).close()
    const file = join(dir, 'big.jsonl')
    const row = (i: number) =>
      JSON.stringify({
        messages: [
          { role: 'user', content: `question ${i}` },
          { role: 'assistant', content: `answer ${i}` }
        ]
      })
    writeFileSync(file, Array.from({ length: 200_000 }, (_, i) => row(i)).join('\n') + '\n')
    const importer = startTsProcess('test/helpers/children/import-new-dataset.ts', [dir, file])
    // A connection of plain SQLite: it watches without opening the store (which would clean up).
    const watcher = new Database(join(dir, DATABASE_FILE), { readonly: true })
    try {
      await until(
        () => count(watcher, 'samples'),
        (n) => n > 0,
        'the first batch of the import'
      )
      importer.kill('SIGKILL')
      expect(await exited(importer)).toMatchObject({ signal: 'SIGKILL' })
      expect(count(watcher, 'samples')).toBeGreaterThan(0)
      expect(count(watcher, 'datasets')).toBe(1)
    } finally {
      watcher.close()
    }

    const store = openStore(dir)
    try {
      expect(count(store.db, 'datasets')).toBe(0)
      expect(count(store.db, 'samples')).toBe(0)
    } finally {
      store.close()
    }
  })

  it('removes an import whose process is gone at once, and keeps one whose process is alive', () => {
    const dir = makeTempDir()
    const first = openStore(dir)
    const killed = hiddenImport(first.db, 'killed', deadPid())
    const alive = hiddenImport(first.db, 'alive', process.pid)
    first.close()

    const store = openStore(dir)
    try {
      const ids = store.db.prepare('SELECT id FROM datasets').pluck().all()
      expect(ids).toEqual([alive])
      expect(ids).not.toContain(killed)
      expect(count(store.db, 'samples')).toBe(1)
    } finally {
      store.close()
    }
  })
})
