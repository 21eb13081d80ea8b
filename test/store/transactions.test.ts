/**
 * Store writes that read first wait for another connection's write lock instead of failing: a
 * deferred transaction that has read gets SQLITE_BUSY at once when it tries to write while another
 * connection holds the lock (busy_timeout is not consulted), so every such write must begin
 * IMMEDIATE. The other connection here is a worker thread, as another process would be.
 */
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { DATABASE_FILE } from '../../src-main/store'
import { chat, openTempStore } from './helpers'

/**
 * Takes the write lock, writes a description, says so, waits for the go-ahead, then holds the lock
 * a moment longer (while the main thread's write is waiting for it) and commits.
 */
const LOCK_HOLDER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.betterSqlite3)
const db = new Database(workerData.file)
db.pragma('busy_timeout = 60000')
db.exec('BEGIN IMMEDIATE')
db.prepare("UPDATE datasets SET description = 'written by the other connection' WHERE id = ?").run(workerData.datasetId)
const flag = new Int32Array(workerData.flag)
parentPort.postMessage('locked')
Atomics.wait(flag, 0, 0)
Atomics.wait(flag, 0, 1, 200)
db.exec('COMMIT')
db.close()
`

describe('store transactions under a concurrent writer', () => {
  it("addSamples waits for another connection's write lock and succeeds", async () => {
    const store = openTempStore()
    const dataset = store.datasets.create({ name: 'shared' })
    const flag = new SharedArrayBuffer(4)
    const worker = new Worker(LOCK_HOLDER, {
      eval: true,
      workerData: {
        betterSqlite3: createRequire(import.meta.url).resolve('better-sqlite3'),
        file: join(store.dir, DATABASE_FILE),
        datasetId: dataset.id,
        flag
      }
    })
    try {
      await once(worker, 'message')
      Atomics.store(new Int32Array(flag), 0, 1)
      Atomics.notify(new Int32Array(flag), 0)
      // Blocks this thread until the worker commits; a deferred transaction threw SQLITE_BUSY here.
      const ids = store.datasets.addSamples(dataset.id, [{ conversation: chat('hi', 'hello') }])
      expect(ids).toHaveLength(1)
      expect(store.datasets.get(dataset.id)).toMatchObject({
        sampleCount: 1,
        description: 'written by the other connection'
      })
    } finally {
      await worker.terminate()
    }
  })
})
