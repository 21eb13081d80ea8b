/**
 * The headless door: the built renderer and the API over HTTP + WebSocket, for a GPU box without a
 * screen and for our browser tests. Every request and socket must carry the token printed at start.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { createApiContext, type ApiContext } from '../api/context'
import { dispatch, type CallResult } from '../api/dispatch'
import type { RequestContext } from '../api/handlers'
import { isLoopback, newToken, originAllowed, presentedToken, TOKEN_COOKIE, tokenMatches } from './auth'
import { serveAsset } from './static'
import { receiveUpload } from './upload'

export interface ServerOptions {
  storeDir: string
  /** The built renderer (`out/renderer`). */
  rendererDir: string
  /** 0 picks a free port. */
  port?: number
  host?: string
  token?: string
  log?: (line: string) => void
}

export interface RunningServer {
  /** Open this in a browser: it carries the token. */
  url: string
  origin: string
  token: string
  port: number
  close(): Promise<void>
}

const MAX_BODY_BYTES = 16 << 20

const UNAUTHORIZED =
  '401 Unauthorized: open the URL that `finetune-studio serve` printed; it carries the access token.'

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

function statusFor(result: CallResult): number {
  if (result.ok) return 200
  const byCode: Record<string, number> = {
    invalid_input: 400,
    not_found: 404,
    unknown_call: 404,
    conflict: 409
  }
  return byCode[result.error.code] ?? 500
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new Error(`request body is larger than ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8').trim()
  return text === '' ? {} : JSON.parse(text)
}

async function handleHttpCall(req: IncomingMessage, res: ServerResponse, name: string, ctx: RequestContext) {
  if (req.method !== 'POST')
    return sendJson(res, 405, { ok: false, error: { code: 'invalid_input', message: 'use POST' } })
  let input: unknown
  try {
    input = await readBody(req)
  } catch (err) {
    const message = `${name}: request body is not valid JSON (${err instanceof Error ? err.message : err})`
    return sendJson(res, 400, { ok: false, error: { code: 'invalid_input', message } })
  }
  const result = await dispatch(name, input, ctx)
  sendJson(res, statusFor(result), result)
}

/** A browser cannot hand the server a path on the user's machine: the UI uploads the file instead. */
async function handleUpload(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  storeDir: string
): Promise<void> {
  if (req.method !== 'POST')
    return sendJson(res, 405, { ok: false, error: { code: 'invalid_input', message: 'use POST' } })
  const name = url.searchParams.get('name') ?? 'upload'
  try {
    const path = await receiveUpload(req, storeDir, name)
    sendJson(res, 200, { ok: true, value: { path } })
  } catch (err) {
    sendJson(res, 400, { ok: false, error: { code: 'invalid_input', message: (err as Error).message } })
  }
}

function attachSocket(socket: WebSocket, api: ApiContext): void {
  const ctx: RequestContext = { ...api, transport: 'websocket' }
  const unsubscribe = api.events.subscribe((event, payload) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ event, payload }))
  })
  socket.on('close', unsubscribe)
  socket.on('message', async (data) => {
    let message: { id?: unknown; call?: unknown; input?: unknown }
    try {
      message = JSON.parse(String(data))
    } catch {
      socket.send(
        JSON.stringify({
          id: null,
          ok: false,
          error: { code: 'invalid_input', message: 'frame is not JSON' }
        })
      )
      return
    }
    const result = await dispatch(message.call, message.input, ctx)
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ id: message.id ?? null, ...result }))
  })
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1'
  const token = options.token ?? newToken()
  const log = options.log ?? (() => {})
  const api = createApiContext(options.storeDir, { pruneCacheOnOpen: true })
  const httpCtx: RequestContext = { ...api, transport: 'http' }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const presented = presentedToken(req, url)
    if (!tokenMatches(presented, token)) {
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' })
      res.end(UNAUTHORIZED)
      return
    }
    if (url.searchParams.has('token')) {
      // Assets and the page's socket carry the cookie from here on, so the token need not be in every URL.
      res.setHeader(
        'set-cookie',
        `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`
      )
    }
    if (url.pathname === '/api/upload') {
      void handleUpload(req, res, url, options.storeDir)
      return
    }
    if (url.pathname.startsWith('/api/call/')) {
      void handleHttpCall(req, res, decodeURIComponent(url.pathname.slice('/api/call/'.length)), httpCtx)
      return
    }
    serveAsset(res, options.rendererDir, url.pathname)
  })

  const sockets = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const authorised = tokenMatches(presentedToken(req, url), token)
    if (url.pathname !== '/api/ws' || !authorised || !originAllowed(req)) {
      const status =
        url.pathname !== '/api/ws' ? '404 Not Found' : authorised ? '403 Forbidden' : '401 Unauthorized'
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      return
    }
    sockets.handleUpgrade(req, socket, head, (ws) => attachSocket(ws, api))
  })

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen)
    server.listen(options.port ?? 0, host, () => resolveListen())
  })
  const port = (server.address() as AddressInfo).port
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  if (!isLoopback(host)) {
    log(
      `warning: serving on ${host}, reachable from other machines; anyone with the URL below can use this store`
    )
  }

  return {
    url: `${origin}/?token=${encodeURIComponent(token)}`,
    origin,
    token,
    port,
    async close() {
      for (const client of sockets.clients) client.terminate()
      sockets.close()
      server.closeAllConnections()
      await new Promise<void>((done) => server.close(() => done()))
      await api.dispose()
    }
  }
}
