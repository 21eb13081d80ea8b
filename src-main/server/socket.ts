/**
 * The page's WebSocket: `{id, call, input}` frames in, `{id, ok, value | error}` replies and
 * `{event, payload}` pushes out. A frame that is not such a request gets an error reply, never an
 * exception: whatever a client sends, the socket stays up.
 */
import type { RawData, WebSocket } from 'ws'
import type { ApiContext } from '../api/context'
import { dispatch, type CallResult } from '../api/dispatch'
import type { RequestContext } from '../api/handlers'

/** Larger frames close the socket (code 1009): no API input comes near it. */
export const MAX_FRAME_BYTES = 16 << 20

type Request = { id: unknown; call: unknown; input: unknown }

/** The request a frame carries, or why it carries none. */
function parseFrame(data: RawData, isBinary: boolean): Request | { refusal: string } {
  if (isBinary) return { refusal: 'frames must be JSON text, got a binary frame' }
  let frame: unknown
  try {
    frame = JSON.parse(String(data))
  } catch (err) {
    return { refusal: `frame is not JSON (${(err as Error).message})` }
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
    const got = Array.isArray(frame) ? 'an array' : JSON.stringify(frame).slice(0, 80)
    return { refusal: `a frame must be a JSON object {id, call, input}, got ${got}` }
  }
  const { id, call, input } = frame as Record<string, unknown>
  return { id, call, input }
}

/** Only an id the client can match is echoed: a number or a string. */
function replyId(id: unknown): number | string | null {
  return typeof id === 'number' || typeof id === 'string' ? id : null
}

async function answerFrame(data: RawData, isBinary: boolean, ctx: RequestContext): Promise<unknown> {
  const request = parseFrame(data, isBinary)
  if ('refusal' in request) {
    return { id: null, ok: false, error: { code: 'invalid_input', message: request.refusal } }
  }
  const result: CallResult = await dispatch(request.call, request.input, ctx)
  return { id: replyId(request.id), ...result }
}

export function attachSocket(socket: WebSocket, api: ApiContext, log: (line: string) => void): void {
  const ctx: RequestContext = { ...api, transport: 'websocket' }
  const send = (message: unknown) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message))
  }
  const unsubscribe = api.events.subscribe((event, payload) => send({ event, payload }))
  socket.on('close', unsubscribe)
  // ws reports a broken frame (bad UTF-8, over the size limit) here and closes the socket with a
  // code that says why; unlistened, the error would end the process.
  socket.on('error', (err) => log(`websocket: ${err.message}`))
  socket.on('message', (data, isBinary) => {
    answerFrame(data, isBinary, ctx)
      .then(send)
      .catch((err: unknown) => {
        log(`error: websocket reply: ${err instanceof Error ? err.message : err}`)
        send({ id: null, ok: false, error: { code: 'internal', message: String(err) } })
      })
  })
}
