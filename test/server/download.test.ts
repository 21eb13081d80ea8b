import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { storeExportFolder } from '../../src-main/api/exports'
import { openStore, type Store } from '../../src-main/store'
import { tarHeader } from '../../src-main/api/exports-tar'
import { tempDir } from '../helpers/temp'
import { startTestServer, type TestServer } from './helpers'

/** A completed export of `kind` at `path`, recorded in the store. */
function recordExport(
  store: Store,
  format: 'hf' | 'jsonl',
  path: string,
  status: 'completed' | 'running' = 'completed'
): number {
  const record = store.exports.add({
    sourceKind: format === 'jsonl' ? 'dataset' : 'model',
    sourceLabel: 'test',
    format,
    variant: '',
    inStore: true
  })
  store.exports.started(record.id, path, null)
  if (status === 'completed') store.exports.finish(record.id, { status: 'completed', bytes: 0 })
  return record.id
}

describe('GET /download/exports/<id>', () => {
  let test: TestServer
  let store: Store
  let fileId = 0
  let folderId = 0
  let runningId = 0
  const weights = Buffer.from(Array.from({ length: 1500 }, (_, i) => i % 251))

  beforeAll(async () => {
    test = await startTestServer()
    store = openStore(test.storeDir)
    const fileExport = join(storeExportFolder(test.storeDir, 1), 'dragons v1-messages.jsonl')
    mkdirSync(join(fileExport, '..'), { recursive: true })
    writeFileSync(fileExport, '{"messages":[]}\n')
    fileId = recordExport(store, 'jsonl', fileExport)
    const folder = join(storeExportFolder(test.storeDir, 2), 'run-1-hf-float16')
    mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, 'config.json'), '{"torch_dtype":"float16"}\n')
    writeFileSync(join(folder, 'model.safetensors'), weights)
    writeFileSync(join(folder, 'empty.txt'), '')
    folderId = recordExport(store, 'hf', folder)
    runningId = recordExport(store, 'hf', folder, 'running')
  })

  afterAll(async () => {
    store.close()
    await test.close()
  })

  const get = (target: string, headers: Record<string, string> = {}) =>
    fetch(`${test.server.origin}${target}`, {
      headers: { authorization: `Bearer ${test.server.token}`, ...headers }
    })

  it('streams a file export as an attachment under its own name', async () => {
    const res = await get(`/download/exports/${fileId}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="dragons_v1-messages.jsonl"; filename*=UTF-8''dragons%20v1-messages.jsonl`
    )
    expect(res.headers.get('content-type')).toBe('application/octet-stream')
    expect(await res.text()).toBe('{"messages":[]}\n')
  })

  it('streams a folder export as a .tar that tar unpacks to the same files', async () => {
    const res = await get(`/download/exports/${folderId}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/x-tar')
    expect(res.headers.get('content-disposition')).toContain('filename="run-1-hf-float16.tar"')
    const archive = Buffer.from(await res.arrayBuffer())
    expect(Number(res.headers.get('content-length'))).toBe(archive.length)
    const out = tempDir()
    try {
      writeFileSync(join(out.dir, 'x.tar'), archive)
      execFileSync('tar', ['-xf', 'x.tar'], { cwd: out.dir })
      const unpacked = join(out.dir, 'run-1-hf-float16')
      expect(readFileSync(join(unpacked, 'model.safetensors'))).toEqual(weights)
      expect(readFileSync(join(unpacked, 'config.json'), 'utf8')).toBe('{"torch_dtype":"float16"}\n')
      expect(readFileSync(join(unpacked, 'empty.txt'), 'utf8')).toBe('')
    } finally {
      out.cleanup()
    }
  })

  it('refuses hostile or unknown ids, unfinished exports, other sites, other methods and no token', async () => {
    for (const target of [
      '/download/exports/abc',
      '/download/exports/01',
      '/download/exports/1/..',
      '/download/exports/..%2f..%2fstudio.db',
      '/download/exports/'
    ]) {
      expect((await get(target)).status, target).toBe(400)
    }
    expect((await get('/download/exports/999')).status).toBe(404)
    const running = await get(`/download/exports/${runningId}`)
    expect(running.status).toBe(409)
    expect(((await running.json()) as { error: { message: string } }).error.message).toContain('running')
    expect((await get(`/download/exports/${fileId}`, { origin: 'http://evil.example' })).status).toBe(403)
    expect((await get(`/download/exports/${fileId}`, { 'sec-fetch-site': 'cross-site' })).status).toBe(403)
    const post = await fetch(`${test.server.origin}/download/exports/${fileId}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${test.server.token}` }
    })
    expect(post.status).toBe(405)
    expect((await fetch(`${test.server.origin}/download/exports/${fileId}`)).status).toBe(401)
  })
})

describe('tar headers', () => {
  it('write sizes of 8 GiB and more base-256, and split long names at a slash', () => {
    const large = tarHeader({ name: 'm/model.safetensors', path: '', size: 9 * 2 ** 30, mtimeSeconds: 0 })
    expect(large[124]).toBe(0x80)
    expect(large.readBigUInt64BE(128)).toBe(BigInt(9 * 2 ** 30))
    const long = tarHeader({ name: `${'d'.repeat(120)}/config.json`, path: '', size: 1, mtimeSeconds: 0 })
    expect(long.subarray(0, 11).toString()).toBe('config.json')
    expect(long.subarray(345, 465).toString()).toBe('d'.repeat(120))
  })
})
