/**
 * The headless door: the built renderer and the API over HTTP + WebSocket, for a GPU box without a
 * screen and for our browser tests. Every request and socket must carry the token printed at start.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { createApiContext, type ApiContext } from '../api/context'
import type { RequestContext } from '../api/handlers'
import { datasetImportJob } from '../datasets/jobs'
import { isLoopback, newToken, presentedToken, TOKEN_COOKIE, tokenMatches } from './auth'
import { answerHttpCall, CALL_PREFIX } from './call'
import { answerDownload, DOWNLOAD_PREFIX } from './download'
import { hostNamesFor, requireOwnHost, requireSameOrigin } from './guard'
import { answerOpenAi, OPENAI_PREFIX, type OpenAiDoor } from './openai'
import { HttpError, sendFailure } from './respond'
import { attachSocket, MAX_FRAME_BYTES } from './socket'
import { serveAsset } from './static'
import { answerUpload, DEFAULT_UPLOAD_LIMITS, UPLOAD_PATH, UploadFolder, type UploadLimits } from './upload'

export interface ServerOptions {
  storeDir: string
  /** The built renderer (`out/renderer`). */
  rendererDir: string
  /** 0 picks a free port. */
  port?: number
  host?: string
  token?: string
  log?: (line: string) => void
  /** Limits on uploads; those left out are DEFAULT_UPLOAD_LIMITS'. */
  uploads?: Partial<UploadLimits>
}

export interface RunningServer {
  /** Open this in a browser: it carries the token. */
  url: string
  origin: string
  token: string
  port: number
  close(): Promise<void>
}

const SOCKET_PATH = '/api/ws'

const UNAUTHORIZED =
  '401 Unauthorized: open the URL that `finetune-studio serve` printed; it carries the access token.'

/**
 * The request's path and query. The target is appended to a fixed origin rather than resolved
 * against it, since `//x` would be read as a host; anything but a path is refused, not thrown.
 */
function requestUrl(req: IncomingMessage): URL {
  const target = req.url ?? '/'
  try {
    if (target.startsWith('/')) return new URL(`http://server${target}`)
  } catch {
    // Refused below, as a target that is not a path.
  }
  throw new HttpError(
    400,
    'invalid_input',
    `${JSON.stringify(target.slice(0, 200))} is not a path on this server`
  )
}

/** Answers a refused upgrade or CONNECT on the raw socket: there is no response object for them. */
function refuseOnSocket(socket: Duplex, err: unknown, log: (line: string) => void): void {
  const refusal =
    err instanceof HttpError
      ? err
      : new HttpError(500, 'internal', `websocket upgrade: ${(err as Error).message}`)
  if (refusal.status >= 500) log(`error: ${refusal.message}`)
  const body = Buffer.from(refusal.message)
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\nConnection: close\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n${body}`
  )
}

/** An import may be reading an upload: the import job's input names the file, which we cannot see. */
function importRunning(api: ApiContext): boolean {
  return api.jobs
    .list()
    .some(
      (job) => job.kind === datasetImportJob.kind && (job.status === 'queued' || job.status === 'running')
    )
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1'
  const token = options.token ?? newToken()
  const log = options.log ?? (() => {})
  const api = createApiContext(options.storeDir, { pruneCacheOnOpen: true })
  const httpCtx: RequestContext = { ...api, transport: 'http' }
  const hostNames = hostNamesFor(host)
  const uploads = new UploadFolder(
    join(options.storeDir, 'uploads'),
    { ...DEFAULT_UPLOAD_LIMITS, ...options.uploads },
    () => importRunning(api),
    log
  )
  const stopCleaning = uploads.keepClean()
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES })

  /** Every request and socket: addressed to us by a name nobody else controls, with our token. */
  function admit(req: IncomingMessage, url: URL): void {
    requireOwnHost(req, hostNames)
    if (!tokenMatches(presentedToken(req, url), token))
      throw new HttpError(401, 'unauthorized', UNAUTHORIZED, { 'www-authenticate': 'Bearer' })
  }

  const openAiDoor: OpenAiDoor = { ctx: httpCtx, admit, log }

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req)
    // Before admission: OpenAI's clients understand refusals only in OpenAI's shape, a 401 included.
    if (url.pathname.startsWith(OPENAI_PREFIX)) return answerOpenAi(req, res, url, openAiDoor)
    admit(req, url)
    if (url.searchParams.has('token')) {
      // Assets and the page's socket carry the cookie from here on, so the token need not be in every URL.
      res.setHeader(
        'set-cookie',
        `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`
      )
    }
    if (url.pathname === UPLOAD_PATH) return answerUpload(req, res, url, uploads)
    if (url.pathname.startsWith(CALL_PREFIX)) return answerHttpCall(req, res, url.pathname, httpCtx)
    if (url.pathname.startsWith(DOWNLOAD_PREFIX)) return answerDownload(req, res, url, httpCtx)
    return serveAsset(res, options.rendererDir, url.pathname)
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = requestUrl(req)
    admit(req, url)
    if (url.pathname !== SOCKET_PATH)
      throw new HttpError(404, 'not_found', `${url.pathname}: the API's WebSocket is ${SOCKET_PATH}`)
    requireSameOrigin(req, SOCKET_PATH)
    sockets.handleUpgrade(req, socket, head, (ws) => attachSocket(ws, api, log))
  }

  const server = createServer((req, res) => {
    answer(req, res).catch((err: unknown) => sendFailure(req, res, err, log))
  })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands over an upgraded socket with no error listener: a client resetting it while we
    // answer would otherwise end the process.
    socket.on('error', () => socket.destroy())
    try {
      upgrade(req, socket, head)
    } catch (err) {
      refuseOnSocket(socket, err, log)
    }
  })
  // Node drops a CONNECT nobody listens for without a word; say that this is no proxy.
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy())
    refuseOnSocket(
      socket,
      new HttpError(405, 'invalid_input', `CONNECT ${req.url}: this server is no proxy`),
      log
    )
  })

  try {
    await new Promise<void>((resolveListen, rejectListen) => {
      server.once('error', rejectListen)
      server.listen(options.port ?? 0, host, () => resolveListen())
    })
  } catch (err) {
    stopCleaning()
    await api.dispose()
    throw err
  }
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
      stopCleaning()
      for (const client of sockets.clients) client.terminate()
      sockets.close()
      server.closeAllConnections()
      await new Promise<void>((done) => server.close(() => done()))
      await api.dispose()
    }
  }
}
