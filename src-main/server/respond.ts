import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ApiErrorShape } from '../../src-preload/contract'

/** A request the server refuses: thrown anywhere in a handler, answered with this status and message. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorShape['code'],
    message: string,
    readonly headers: Record<string, string> = {}
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(text)
}

/**
 * Answers a failed request with `{ok: false, error}`: its own status for an HttpError, 500 for
 * anything else (logged, since it is our bug). Never throws, so it can end any handler's chain.
 */
export function sendFailure(
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  log: (line: string) => void
): void {
  const refusal =
    err instanceof HttpError
      ? err
      : new HttpError(
          500,
          'internal',
          `${req.method} ${req.url}: ${err instanceof Error ? err.message : err}`
        )
  if (!res.headersSent && refusal.status >= 500) log(`error: ${refusal.message}`)
  sendRefusal(req, res, refusal.status, refusal.headers, {
    ok: false,
    error: { code: refusal.code, message: refusal.message }
  })
}

/** Sends a refusal's status, headers and JSON body, whatever shape the body has. Never throws. */
export function sendRefusal(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: unknown
): void {
  if (res.headersSent) {
    // Half an answer is out (mostly: the client left while a file streamed to it); cutting the
    // connection is the only way left to say it failed.
    res.destroy()
    return
  }
  // A body we did not read to the end must not be taken for the next request on this connection;
  // closing also spares us reading (say) gigabytes of an upload we have refused.
  if (!req.complete) res.setHeader('connection', 'close')
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value)
  sendJson(res, status, body)
}

/** The Content-Length a request declares; null when it streams (chunked) or declares none. */
export function declaredLength(req: IncomingMessage): number | null {
  const header = req.headers['content-length']
  return header === undefined ? null : Number(header)
}
