/** What the headless server's tests share: a server on a fresh store, raw requests and sockets. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import WebSocket from 'ws'
import { startServer, type RunningServer, type ServerOptions } from '../../src-main/server'
import { tempDir } from '../helpers/temp'

export interface TestServer {
  server: RunningServer
  storeDir: string
  rendererDir: string
  logs: string[]
  /** `host:port` as a browser on this machine sends it. */
  host: string
  wsUrl: string
  close(): Promise<void>
}

/** A server on a fresh store, serving a two-file stand-in for the built UI. */
export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const store = tempDir()
  const renderer = tempDir()
  writeFileSync(join(renderer.dir, 'index.html'), '<!doctype html><title>Finetune Studio</title>')
  mkdirSync(join(renderer.dir, 'assets'))
  writeFileSync(join(renderer.dir, 'assets', 'app.js'), 'console.log(1)')
  const logs: string[] = []
  const server = await startServer({
    storeDir: store.dir,
    rendererDir: renderer.dir,
    port: 0,
    log: (line) => logs.push(line),
    ...options
  })
  return {
    server,
    storeDir: store.dir,
    rendererDir: renderer.dir,
    logs,
    host: `127.0.0.1:${server.port}`,
    wsUrl: `ws://127.0.0.1:${server.port}/api/ws`,
    async close() {
      await server.close()
      store.cleanup()
      renderer.cleanup()
    }
  }
}

export interface RawResponse {
  /** The status of the final response (after any `100 Continue`); null when none came. */
  status: number | null
  /** Everything the server sent, as text. */
  text: string
}

/**
 * Sends `request` as it is on a fresh connection and collects the reply until the server closes.
 * For what `fetch` would refuse to send: bad targets, NUL bytes, duplicate headers. The request
 * should say `Connection: close`; it is half-closed only with `halfClose` (for a body cut short),
 * since Node takes that for a client that gave up and answers nothing.
 */
export function rawRequest(
  port: number,
  request: string | Buffer,
  options: { halfClose?: boolean } = {}
): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (chunk) => chunks.push(chunk))
    // A reset after the answer is the server refusing the rest of what we sent; the answer counts.
    socket.on('error', () => {})
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      const final = [...text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)]
        .map((m) => Number(m[1]))
        .find((s) => s >= 200)
      resolve({ status: final ?? null, text })
    })
    if (options.halfClose) socket.end(request)
    else socket.write(request)
  })
}

/** An HTTP/1.1 request with `Connection: close`, the headers given, and the body. */
export function httpRequest(
  method: string,
  target: string,
  headers: Record<string, string> | [string, string][],
  body: string | Buffer = ''
): Buffer {
  const lines = [`${method} ${target} HTTP/1.1`]
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers)
  for (const [name, value] of pairs) lines.push(`${name}: ${value}`)
  if (!pairs.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name)) && body.length > 0)
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`)
  lines.push('Connection: close', '', '')
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), Buffer.from(body)])
}

/** The socket, once open; or the status with which the server refused the upgrade. */
export function openSocket(
  url: string,
  headers: Record<string, string> = {}
): Promise<{ ws: WebSocket } | { status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    ws.once('open', () => resolve({ ws }))
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }))
    ws.once('error', reject)
  })
}

export async function openedSocket(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const opened = await openSocket(url, headers)
  if (!('ws' in opened)) throw new Error(`socket refused: ${opened.status}`)
  return opened.ws
}

export function nextMessage(
  ws: WebSocket,
  predicate: (m: Record<string, unknown>) => boolean
): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>
      if (predicate(message)) {
        ws.off('message', onMessage)
        resolve(message)
      }
    }
    ws.on('message', onMessage)
  })
}

/** The first reply on the socket (pushed events aside), or the code it closed with if it closed first. */
export function replyOrClose(
  ws: WebSocket
): Promise<{ reply: Record<string, unknown> } | { closed: number }> {
  return new Promise((resolve) => {
    nextMessage(ws, (m) => !('event' in m)).then(
      (reply) => resolve({ reply }),
      () => {}
    )
    ws.once('close', (code) => resolve({ closed: code }))
  })
}

/** `system.info` over HTTP with the bearer token: the server is up and answering. */
export async function systemInfoStatus(server: RunningServer): Promise<number> {
  const response = await fetch(`${server.origin}/api/call/system.info`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: '{}'
  })
  await response.body?.cancel()
  return response.status
}
