/** `POST /api/call/<name>`: one API call over HTTP, for scripts and tests. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { dispatch, type CallResult } from '../api/dispatch'
import type { RequestContext } from '../api/handlers'
import { requireJsonBody, requireSameOrigin } from './guard'
import { declaredLength, HttpError, sendJson } from './respond'

export const CALL_PREFIX = '/api/call/'

/** Larger JSON than this is no API input: the biggest calls take a sample or a config. */
const MAX_BODY_BYTES = 16 << 20

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

function tooLarge(name: string): HttpError {
  return new HttpError(413, 'invalid_input', `${name}: request body is larger than ${MAX_BODY_BYTES} bytes`)
}

/**
 * The whole body, refused with 413 as soon as it passes the limit. The request is left paused, not
 * destroyed: destroying it would cut the connection before the client could read why.
 */
function readBody(req: IncomingMessage, name: string): Promise<Buffer> {
  const declared = declaredLength(req)
  if (declared !== null && declared > MAX_BODY_BYTES) return Promise.reject(tooLarge(name))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const stop = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.pause()
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        stop()
        reject(tooLarge(name))
      } else chunks.push(chunk)
    }
    const onEnd = () => {
      stop()
      resolve(Buffer.concat(chunks))
    }
    const onError = (err: Error) => {
      stop()
      reject(new HttpError(400, 'invalid_input', `${name}: the request body did not arrive (${err.message})`))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  })
}

function parseInput(body: Buffer, name: string): unknown {
  const text = body.toString('utf8').trim()
  if (text === '') return {}
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new HttpError(
      400,
      'invalid_input',
      `${name}: request body is not valid JSON (${(err as Error).message})`
    )
  }
}

/** The request's JSON body (`{}` when empty), refused with 413 past the limit and 400 when not JSON. */
export async function readJsonBody(req: IncomingMessage, name: string): Promise<unknown> {
  return parseInput(await readBody(req, name), name)
}

/** The call name in the path; a malformed escape is the client's mistake, not a crash. */
function callName(pathname: string): string {
  const encoded = pathname.slice(CALL_PREFIX.length)
  try {
    return decodeURIComponent(encoded)
  } catch {
    throw new HttpError(400, 'invalid_input', `${pathname}: the call name is not valid percent-encoding`)
  }
}

export async function answerHttpCall(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  ctx: RequestContext
): Promise<void> {
  if (req.method !== 'POST')
    throw new HttpError(405, 'invalid_input', `${pathname}: use POST`, { allow: 'POST' })
  requireSameOrigin(req, pathname)
  requireJsonBody(req, pathname)
  const name = callName(pathname)
  const input = await readJsonBody(req, name)
  const result = await dispatch(name, input, ctx)
  sendJson(res, statusFor(result), result)
}
