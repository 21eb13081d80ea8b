/**
 * Uploads are scratch copies with limits: one file's size (while it streams, too), a quota over the
 * folder, and a lifetime, after which a sweep at start and every few minutes removes them.
 */
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { UploadFolder } from '../../src-main/server/upload'
import { tempDir } from '../helpers/temp'
import { httpRequest, rawRequest, startTestServer, type RawResponse, type TestServer } from './helpers'

const HOUR_MS = 3_600_000
const LIMITS = { maxFileBytes: 1000, quotaBytes: 2500 }

function uploadedFiles(t: TestServer): string[] {
  const dir = join(t.storeDir, 'uploads')
  return existsSync(dir) ? readdirSync(dir).sort() : []
}

function uploadHeaders(t: TestServer): Record<string, string> {
  return { host: t.host, authorization: `Bearer ${t.server.token}`, 'x-finetune-studio': 'upload' }
}

function upload(t: TestServer, name: string, bytes: number): Promise<RawResponse> {
  const request = httpRequest('POST', `/api/upload?name=${name}`, uploadHeaders(t), 'x'.repeat(bytes))
  return rawRequest(t.server.port, request)
}

/**
 * A chunked upload with no end: chunks go out until the server answers. Only a limit enforced while
 * the body streams can answer it.
 */
function endlessChunkedUpload(t: TestServer, name: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(t.server.port, '127.0.0.1')
    let answer = ''
    socket.on('data', (data) => (answer += data.toString('latin1')))
    socket.on('error', () => {})
    socket.on('close', () => resolve(answer))
    const head = httpRequest('POST', `/api/upload?name=${name}`, {
      ...uploadHeaders(t),
      'transfer-encoding': 'chunked'
    })
    const chunk = `100\r\n${'y'.repeat(0x100)}\r\n`
    const send = () => {
      while (answer === '' && !socket.destroyed) {
        if (!socket.write(chunk)) return socket.once('drain', send)
      }
    }
    socket.write(head, send)
  })
}

describe('headless server: upload limits', () => {
  let t: TestServer

  beforeAll(async () => {
    t = await startTestServer({ uploads: LIMITS })
  })

  afterAll(() => t.close())

  it('refuses a declared length over the limit at once, with 413 and what to do instead', async () => {
    const headers = { ...uploadHeaders(t), 'content-length': '5000' }
    const response = await rawRequest(
      t.server.port,
      httpRequest('POST', '/api/upload?name=big.jsonl', headers)
    )
    expect(response.status).toBe(413)
    expect(response.text).toContain('upload: big.jsonl is larger than 1000 B, the most one upload may have')
    expect(uploadedFiles(t)).toEqual([])
  })

  it('stops a chunked upload once it passes the limit, answers 413 and removes the partial file', async () => {
    const answer = await endlessChunkedUpload(t, 'endless.jsonl')
    expect(answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(answer).toContain('upload: endless.jsonl is larger than 1000 B')
    expect(uploadedFiles(t)).toEqual([])
  })

  it('removes the partial file of an upload whose client goes away', async () => {
    const socket = connect(t.server.port, '127.0.0.1')
    const headers = { ...uploadHeaders(t), 'content-length': '900' }
    socket.write(httpRequest('POST', '/api/upload?name=gone.jsonl', headers, 'x'.repeat(100)))
    const gone = () => uploadedFiles(t).filter((name) => name.includes('gone'))
    await expect.poll(gone).toEqual([expect.stringMatching(/^\.\w{8}-gone\.jsonl\.partial$/)])
    socket.destroy()
    await expect.poll(gone).toEqual([])
  })

  it('refuses an upload that would take the folder over its quota, and takes one that fits', async () => {
    expect((await upload(t, 'one.jsonl', 1000)).status).toBe(200)
    expect((await upload(t, 'two.jsonl', 1000)).status).toBe(200)
    const over = await upload(t, 'three.jsonl', 600)
    expect(over.status).toBe(413)
    expect(over.text).toContain(
      'upload: three.jsonl (600 B) does not fit: the uploads folder holds 2.0 KiB of its 2.4 KiB quota'
    )
    const streamedOver = await endlessChunkedUpload(t, 'four.jsonl')
    expect(streamedOver).toMatch(/^HTTP\/1\.1 413 /)
    expect(streamedOver).toMatch(/upload: four\.jsonl \(\d+ B so far\) does not fit/)
    expect((await upload(t, 'five.jsonl', 500)).status).toBe(200)
    // Stored as `<8 hex>-<name>`.
    expect(
      uploadedFiles(t)
        .map((stored) => stored.slice(9))
        .sort()
    ).toEqual(['five.jsonl', 'one.jsonl', 'two.jsonl'])
  })
})

describe('headless server: upload lifetime', () => {
  it('removes expired uploads and partial files a killed server left when it starts, and counts the rest', async () => {
    const store = tempDir()
    const dir = join(store.dir, 'uploads')
    mkdirSync(dir)
    const now = Date.now() / 1000
    const file = (name: string, bytes: number, ageSeconds: number) => {
      writeFileSync(join(dir, name), 'z'.repeat(bytes))
      utimesSync(join(dir, name), now - ageSeconds, now - ageSeconds)
    }
    file('0000aaaa-expired.jsonl', 10, 25 * 3600)
    file('0000bbbb-recent.jsonl', 2000, 3600)
    file('.0000cccc-killed.jsonl.partial', 300, 3600)
    file('.0000dddd-live.jsonl.partial', 100, 0)
    // A finished upload of a file that happens to be called `notes.partial`.
    file('0000eeee-notes.partial', 50, 3600)
    const t = await startTestServer({ storeDir: store.dir, uploads: LIMITS })
    try {
      expect(readdirSync(dir).sort()).toEqual([
        '.0000dddd-live.jsonl.partial',
        '0000bbbb-recent.jsonl',
        '0000eeee-notes.partial'
      ])
      expect(t.logs).toContain(`uploads: removed 2 expired or abandoned files (310 B) from ${dir}`)
      const over = await upload(t, 'late.jsonl', 500)
      expect(over.status).toBe(413)
      // The live partial counts too: 2000 + 100 + 50 bytes.
      expect(over.text).toContain('holds 2.1 KiB of its 2.4 KiB quota')
    } finally {
      await t.close()
      store.cleanup()
    }
  })

  describe('UploadFolder.keepClean', () => {
    afterEach(() => {
      vi.useRealTimers()
    })

    it('sweeps again every few minutes, and keeps expired uploads while an import runs', () => {
      const folder = tempDir()
      writeFileSync(join(folder.dir, '0000aaaa-data.jsonl'), '{}\n')
      let importRunning = false
      const uploads = new UploadFolder(
        folder.dir,
        { maxFileBytes: 1000, quotaBytes: 1000, lifetimeMs: HOUR_MS },
        () => importRunning,
        () => {}
      )
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
      const stop = uploads.keepClean()
      try {
        importRunning = true
        vi.advanceTimersByTime(2 * HOUR_MS)
        expect(readdirSync(folder.dir)).toEqual(['0000aaaa-data.jsonl'])
        importRunning = false
        vi.advanceTimersByTime(10 * 60_000)
        expect(readdirSync(folder.dir)).toEqual([])
      } finally {
        stop()
        folder.cleanup()
      }
    })
  })
})
