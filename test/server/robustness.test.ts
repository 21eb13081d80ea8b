/**
 * Requests that once ended `serve`: each must get an answer and leave the server up. A crash shows
 * here as an uncaught exception or unhandled rejection, which fails the run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  httpRequest,
  openedSocket,
  openSocket,
  rawRequest,
  replyOrClose,
  startTestServer,
  systemInfoStatus,
  type TestServer
} from './helpers'

const MALFORMED_COOKIE = 'fs_token=%E0%A4%A'

describe('headless server: requests that used to end it', () => {
  let t: TestServer
  let bearer: Record<string, string>

  beforeAll(async () => {
    t = await startTestServer()
    bearer = { host: t.host, authorization: `Bearer ${t.server.token}` }
  })

  afterAll(() => t.close())

  it('answers targets that are not a plain path, without the token and with it', async () => {
    const port = t.server.port
    expect((await rawRequest(port, httpRequest('GET', '//', { host: t.host }))).status).toBe(401)
    expect((await rawRequest(port, httpRequest('GET', '//', bearer))).status).toBe(404)
    expect((await rawRequest(port, httpRequest('GET', '//evil.example/x', bearer))).status).toBe(404)
    for (const target of ['*', 'http://evil.example/', 'http://127.0.0.1/']) {
      const response = await rawRequest(port, httpRequest('GET', target, bearer))
      expect(response.status, target).toBe(400)
      expect(response.text).toContain('is not a path on this server')
    }
    const connect = await rawRequest(port, httpRequest('CONNECT', 'evil.example:443', bearer))
    expect(connect.status).toBe(405)
    expect(await systemInfoStatus(t.server)).toBe(200)
  })

  it('takes a cookie it cannot decode for no token, on a request and on a socket upgrade', async () => {
    const page = await rawRequest(
      t.server.port,
      httpRequest('GET', '/', { host: t.host, cookie: MALFORMED_COOKIE })
    )
    expect(page.status).toBe(401)
    expect(await openSocket(t.wsUrl, { cookie: MALFORMED_COOKIE })).toEqual({ status: 401 })
    expect(await systemInfoStatus(t.server)).toBe(200)
  })

  it('answers a call name that is not valid percent-encoding with 400', async () => {
    const response = await rawRequest(
      t.server.port,
      httpRequest('POST', '/api/call/%E0', { ...bearer, 'content-type': 'application/json' }, '{}')
    )
    expect(response.status).toBe(400)
    expect(response.text).toContain('/api/call/%E0: the call name is not valid percent-encoding')
    expect(await systemInfoStatus(t.server)).toBe(200)
  })

  it('answers a socket frame that is JSON but no request, and keeps serving the socket', async () => {
    const ws = await openedSocket(`${t.wsUrl}?token=${t.server.token}`)
    for (const [frame, got] of [
      ['null', 'null'],
      ['[]', 'an array'],
      ['"x"', '"x"'],
      ['5', '5']
    ]) {
      const answer = replyOrClose(ws)
      ws.send(frame)
      expect(await answer, frame).toEqual({
        reply: {
          id: null,
          ok: false,
          error: {
            code: 'invalid_input',
            message: `a frame must be a JSON object {id, call, input}, got ${got}`
          }
        }
      })
    }
    const info = replyOrClose(ws)
    ws.send(JSON.stringify({ id: 1, call: 'system.info', input: {} }))
    expect(await info).toMatchObject({ reply: { id: 1, ok: true, value: { product: 'Finetune Studio' } } })
    ws.close()
  })

  it('closes a socket that sends a broken frame with the code that says why, and stays up', async () => {
    const invalidText = await openedSocket(`${t.wsUrl}?token=${t.server.token}`)
    const closed = replyOrClose(invalidText)
    // A text frame whose bytes are not UTF-8: ws closes with 1007 and reports an error.
    invalidText.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })
    expect(await closed).toEqual({ closed: 1007 })

    const oversized = await openedSocket(`${t.wsUrl}?token=${t.server.token}`)
    const tooBig = replyOrClose(oversized)
    oversized.send(JSON.stringify({ id: 1, call: 'system.info', input: { pad: 'x'.repeat(17 << 20) } }))
    expect(await tooBig).toEqual({ closed: 1009 })
    expect(await systemInfoStatus(t.server)).toBe(200)
  })
})
