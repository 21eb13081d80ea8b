/**
 * Other web pages must not drive the API through the user's browser: cross-site request forgery
 * (a page on another origin, another port of this host included) and DNS rebinding (a page whose
 * name was made to resolve to us). The browser's side is played with raw requests and sockets.
 */
import type { IncomingMessage } from 'node:http'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hostNamesFor, requireOwnHost } from '../../src-main/server/guard'
import {
  httpRequest,
  openSocket,
  rawRequest,
  startTestServer,
  systemInfoStatus,
  type RawResponse,
  type TestServer
} from './helpers'

function hostAccepted(host: string | undefined, boundHost: string): boolean {
  try {
    requireOwnHost({ headers: { host } } as IncomingMessage, hostNamesFor(boundHost))
    return true
  } catch {
    return false
  }
}

describe('the Host rule against DNS rebinding', () => {
  it('accepts IP literals and localhost on any port, whatever address the server bound', () => {
    for (const bound of ['127.0.0.1', '0.0.0.0', '::', '192.168.1.5']) {
      for (const host of [
        '127.0.0.1:7860',
        'localhost:9000',
        'LOCALHOST',
        '[::1]:7860',
        '192.168.1.5:80',
        '10.0.0.7'
      ]) {
        expect(hostAccepted(host, bound), `${host} on ${bound}`).toBe(true)
      }
    }
  })

  it('accepts the name it was told to bind, and refuses every other name and malformed Host', () => {
    expect(hostAccepted('gpu.lan:7860', 'gpu.lan')).toBe(true)
    expect(hostAccepted('GPU.lan', 'gpu.lan')).toBe(true)
    for (const host of [
      'evil.example:7860',
      'gpu.lan:7860',
      '127.0.0.1.nip.io:7860',
      'localhost.:7860',
      'evil.example@127.0.0.1:7860',
      '127.0.0.1:7860/x',
      '[::1',
      '',
      undefined
    ]) {
      expect(hostAccepted(host, '0.0.0.0'), String(host)).toBe(false)
    }
  })
})

describe('headless server: cross-site requests and rebinding', () => {
  let t: TestServer
  let own: Record<string, string>

  beforeAll(async () => {
    t = await startTestServer()
    own = { host: t.host, authorization: `Bearer ${t.server.token}` }
  })

  afterAll(() => t.close())

  const datasetCount = async () => {
    const response = await fetch(`${t.server.origin}/api/call/datasets.list`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.server.token}`, 'content-type': 'application/json' },
      body: '{}'
    })
    return ((await response.json()) as { value: unknown[] }).value.length
  }

  function createDataset(headers: Record<string, string>, name: string): Promise<RawResponse> {
    const body = JSON.stringify({ name })
    return rawRequest(t.server.port, httpRequest('POST', '/api/call/datasets.create', headers, body))
  }

  it('refuses an API call whose body is not declared JSON (415), the form a cross-site page can send', async () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x'
    ]) {
      const response = await createDataset({ ...own, 'content-type': type }, 'csrf')
      expect(response.status, type).toBe(415)
      expect(response.text).toContain('Content-Type: application/json')
    }
    expect((await createDataset(own, 'csrf')).status).toBe(415)
    expect(await datasetCount()).toBe(0)
  })

  it('refuses an API call from another origin, another port of this host included (403)', async () => {
    const json = { ...own, 'content-type': 'application/json' }
    for (const origin of ['https://evil.example', `http://127.0.0.1:${t.server.port + 1}`, 'null']) {
      const response = await createDataset({ ...json, origin }, 'csrf')
      expect(response.status, origin).toBe(403)
      expect(response.text).toContain(`refused a request from ${origin}`)
    }
    for (const site of ['cross-site', 'same-site']) {
      const response = await createDataset({ ...json, 'sec-fetch-site': site }, 'csrf')
      expect(response.status, site).toBe(403)
      expect(response.text).toContain(`Sec-Fetch-Site: ${site}`)
    }
    expect(await datasetCount()).toBe(0)

    // What the page itself sends, and what it sends through a tunnel on another local port.
    const ownPage = { ...json, origin: t.server.origin, 'sec-fetch-site': 'same-origin' }
    expect((await createDataset(ownPage, 'from-page')).status).toBe(200)
    const tunnel = { ...json, host: 'localhost:9000', origin: 'http://localhost:9000' }
    expect((await createDataset(tunnel, 'through-tunnel')).status).toBe(200)
    expect(await datasetCount()).toBe(2)
  })

  it('refuses any request whose Host is a name a rebinding page could use, token or not (403)', async () => {
    const rebound = `evil.example:${t.server.port}`
    const call = await createDataset(
      { ...own, host: rebound, origin: `http://${rebound}`, 'content-type': 'application/json' },
      'rebound'
    )
    expect(call.status).toBe(403)
    expect(call.text).toContain(`Host \\"${rebound}\\" is not a name of this server`)
    const page = await rawRequest(
      t.server.port,
      httpRequest('GET', `/?token=${t.server.token}`, { host: rebound })
    )
    expect(page.status).toBe(403)
    expect(await systemInfoStatus(t.server)).toBe(200)
  })

  it('refuses an upload without the UI header or from another origin, and takes the one the page sends', async () => {
    const upload = (headers: Record<string, string>) =>
      rawRequest(
        t.server.port,
        httpRequest('POST', '/api/upload?name=a.jsonl', { ...own, ...headers }, '{}\n')
      )
    const noHeader = await upload({ 'content-type': 'text/plain' })
    expect(noHeader.status).toBe(403)
    expect(noHeader.text).toContain('x-finetune-studio: upload')
    const marked = { 'x-finetune-studio': 'upload' }
    expect((await upload({ ...marked, origin: 'https://evil.example' })).status).toBe(403)
    expect((await upload({ ...marked, 'sec-fetch-site': 'cross-site' })).status).toBe(403)
    expect((await upload({ ...marked, host: `evil.example:${t.server.port}` })).status).toBe(403)
    expect(existsSync(join(t.storeDir, 'uploads'))).toBe(false)

    const fromPage = await upload({ ...marked, origin: t.server.origin, 'sec-fetch-site': 'same-origin' })
    expect(fromPage.status).toBe(200)
    expect(readdirSync(join(t.storeDir, 'uploads'))).toEqual([expect.stringMatching(/-a\.jsonl$/)])
  })

  it('refuses a socket from another origin, a cross-site fetch or a rebinding Host, and opens the own one', async () => {
    const url = `${t.wsUrl}?token=${t.server.token}`
    expect(await openSocket(url, { origin: 'https://evil.example' })).toEqual({ status: 403 })
    expect(await openSocket(url, { origin: `http://127.0.0.1:${t.server.port + 1}` })).toEqual({
      status: 403
    })
    expect(await openSocket(url, { 'sec-fetch-site': 'cross-site' })).toEqual({ status: 403 })
    expect(await openSocket(url, { 'sec-fetch-site': 'same-site' })).toEqual({ status: 403 })
    const rebound = `evil.example:${t.server.port}`
    expect(await openSocket(url, { host: rebound, origin: `http://${rebound}` })).toEqual({ status: 403 })

    const opened = await openSocket(url, { origin: t.server.origin, 'sec-fetch-site': 'same-origin' })
    expect('ws' in opened).toBe(true)
    if ('ws' in opened) opened.ws.close()
  })
})
