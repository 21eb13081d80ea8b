import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../../src-main/server'
import { resolveAsset } from '../../src-main/server/static'
import { STORIES_260K, tempDir } from '../helpers/temp'
import { nextMessage, openSocket } from './helpers'

describe('headless server', () => {
  const store = tempDir()
  const renderer = tempDir()
  let server: RunningServer
  const logs: string[] = []

  beforeAll(async () => {
    writeFileSync(join(renderer.dir, 'index.html'), '<!doctype html><title>Finetune Studio</title>')
    mkdirSync(join(renderer.dir, 'assets'))
    writeFileSync(join(renderer.dir, 'assets', 'app.js'), 'console.log(1)')
    server = await startServer({
      storeDir: store.dir,
      rendererDir: renderer.dir,
      port: 0,
      log: (l) => logs.push(l)
    })
  })

  afterAll(async () => {
    await server.close()
    store.cleanup()
    renderer.cleanup()
  })

  it('binds loopback and prints a URL that carries the token', () => {
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(server.url).toBe(`${server.origin}/?token=${encodeURIComponent(server.token)}`)
    expect(server.token.length).toBeGreaterThanOrEqual(24)
    expect(logs.join('\n')).not.toMatch(/warning/)
  })

  it('answers 401 to every request without the right token', async () => {
    for (const path of ['/', '/index.html', '/assets/app.js', '/api/call/system.info']) {
      expect((await fetch(server.origin + path)).status).toBe(401)
      expect((await fetch(`${server.origin}${path}?token=wrong`)).status).toBe(401)
      expect((await fetch(server.origin + path, { headers: { authorization: 'Bearer nope' } })).status).toBe(
        401
      )
    }
  })

  it('serves the UI with the token and sets a cookie that authorises the page assets', async () => {
    const page = await fetch(server.url)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('Finetune Studio')
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    const cookie = page.headers.get('set-cookie')!.split(';')[0]
    const asset = await fetch(`${server.origin}/assets/app.js`, { headers: { cookie } })
    expect(asset.status).toBe(200)
    expect(asset.headers.get('content-type')).toMatch(/javascript/)
  })

  it('stores an uploaded file under the store, whole, and only with the token', async () => {
    const body = '{"messages": []}\n'.repeat(1000)
    expect((await fetch(`${server.origin}/api/upload?name=x.jsonl`, { method: 'POST', body })).status).toBe(
      401
    )
    const res = await fetch(`${server.origin}/api/upload?name=../../evil name.jsonl`, {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${server.token}`, 'x-finetune-studio': 'upload' }
    })
    const { value } = (await res.json()) as { value: { path: string } }
    expect(value.path.startsWith(join(store.dir, 'uploads') + '/')).toBe(true)
    expect(value.path).toMatch(/-evil_name\.jsonl$/)
    expect(readFileSync(value.path, 'utf8')).toBe(body)
  })

  it('never serves files outside the renderer folder', async () => {
    expect(resolveAsset(renderer.dir, '/../../etc/passwd')).toBe(join(renderer.dir, 'etc/passwd'))
    expect(resolveAsset(renderer.dir, '/%2e%2e/%2e%2e/etc/passwd')).toBe(join(renderer.dir, 'etc/passwd'))
    const res = await fetch(`${server.origin}/..%2f..%2fetc%2fpasswd`, {
      headers: { authorization: `Bearer ${server.token}` }
    })
    expect(res.status).toBe(404)
  })

  it('runs API calls over HTTP with a bearer token, and reports bad input with the call name', async () => {
    const auth = { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }
    const info = await fetch(`${server.origin}/api/call/system.info`, {
      method: 'POST',
      headers: auth,
      body: '{}'
    })
    expect(info.status).toBe(200)
    const body = (await info.json()) as {
      ok: boolean
      value: { product: string; storePath: string; transport: string }
    }
    expect(body).toMatchObject({
      ok: true,
      value: { product: 'Finetune Studio', storePath: store.dir, transport: 'http' }
    })

    const bad = await fetch(`${server.origin}/api/call/datasets.create`, {
      method: 'POST',
      headers: auth,
      body: '{"name": 5}'
    })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({
      ok: false,
      error: { code: 'invalid_input', message: expect.stringMatching(/^datasets\.create: name:/) }
    })

    const unknown = await fetch(`${server.origin}/api/call/nope.nothing`, {
      method: 'POST',
      headers: auth,
      body: '{}'
    })
    expect(unknown.status).toBe(404)
  })

  it('refuses sockets without the token or from another origin, and serves calls and events with it', async () => {
    const wsUrl = server.origin.replace('http', 'ws') + '/api/ws'
    expect(await openSocket(wsUrl)).toEqual({ status: 401 })
    expect(await openSocket(`${wsUrl}?token=wrong`)).toEqual({ status: 401 })
    expect(await openSocket(`${wsUrl}?token=${server.token}`, { origin: 'https://evil.example' })).toEqual({
      status: 403
    })

    const opened = await openSocket(`${wsUrl}?token=${server.token}`)
    if (!('ws' in opened)) throw new Error(`socket refused: ${opened.status}`)
    const ws = opened.ws
    const reply = nextMessage(ws, (m) => m.id === 7)
    ws.send(JSON.stringify({ id: 7, call: 'datasets.create', input: { name: 'from-socket' } }))
    expect(await reply).toMatchObject({ id: 7, ok: true, value: { name: 'from-socket', versionCount: 0 } })

    const duplicate = nextMessage(ws, (m) => m.id === 8)
    ws.send(JSON.stringify({ id: 8, call: 'datasets.create', input: { name: 'from-socket' } }))
    expect(await duplicate).toMatchObject({
      id: 8,
      ok: false,
      error: { message: expect.stringContaining('from-socket') }
    })

    const missing = nextMessage(ws, (m) => m.id === 9)
    ws.send(JSON.stringify({ id: 9, call: 'models.register', input: { path: join(store.dir, 'missing') } }))
    expect(await missing).toMatchObject({
      ok: false,
      error: { code: 'invalid_input', message: expect.stringContaining('is not a folder') }
    })

    // A job started over the socket reports its progress and status back as events.
    const completed = nextMessage(
      ws,
      (m) => m.event === 'job.status' && (m.payload as { status: string }).status === 'completed'
    )
    const progress = nextMessage(ws, (m) => m.event === 'job.progress')
    ws.send(JSON.stringify({ id: 10, call: 'models.register', input: { path: STORIES_260K } }))
    expect(await progress).toMatchObject({ payload: { kind: 'model.inspect', total: expect.any(Number) } })
    await completed
    const models = nextMessage(ws, (m) => m.id === 11)
    ws.send(JSON.stringify({ id: 11, call: 'models.list', input: {} }))
    expect(await models).toMatchObject({
      ok: true,
      value: [{ architecture: 'LlamaForCausalLM', parameterCount: 260_032 }]
    })
    ws.close()
  })
})

describe('headless server on a non-loopback address', () => {
  it('warns that it is reachable from other machines', async () => {
    const store = tempDir()
    const logs: string[] = []
    const server = await startServer({
      storeDir: store.dir,
      rendererDir: store.dir,
      host: '0.0.0.0',
      port: 0,
      log: (l) => logs.push(l)
    })
    await server.close()
    store.cleanup()
    expect(logs.join('\n')).toMatch(/warning: serving on 0\.0\.0\.0/)
  })
})
