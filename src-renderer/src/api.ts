/**
 * The only way the renderer reaches main. One `StudioClient`, two transports:
 *
 * - Electron: the preload script exposes `window.finetuneStudio`, one named method per call that
 *   resolves to `{ok, value} | {ok: false, error}`, plus `onEvent` for pushed events.
 * - Browser (the UI served by `finetune-studio serve`): a WebSocket to `/api/ws` carrying
 *   `{id, call, input}` requests, `{id, ok, value | error}` replies and `{event, payload}` pushes.
 *
 * Views never know which door they came through; they see `ApiError`s with the server's message.
 */
import { readonly, ref, type Ref } from 'vue'
import type {
  ApiErrorShape,
  CallInput,
  CallName,
  CallOutput,
  EventName,
  Events,
  PreloadApi,
  StudioClient
} from '../../src-preload/contract'

export type ConnectionState = 'connecting' | 'connected' | 'disconnected'
export type Transport = 'ipc' | 'websocket'

/** `transport` is ours: the socket dropped or sent something we cannot read. */
export type ApiErrorCode = ApiErrorShape['code'] | 'transport'

/** An error from main (or from the way to it), shown to the user as it is. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown
  ) {
    super(message)
    this.name = 'ApiError'
  }

  static from(shape: ApiErrorShape): ApiError {
    return new ApiError(shape.code, shape.message, shape.details)
  }
}

export interface StudioApi extends StudioClient {
  readonly transport: Transport
  readonly connection: Readonly<Ref<ConnectionState>>
  /**
   * A path main can read for a file the user picked or dropped: its own path in Electron; in a
   * browser the file is uploaded to the server (which may be another machine) first.
   */
  fileLocation(file: File): Promise<string>
}

type Listener = (payload: unknown) => void

/** Listeners per event name, shared by both transports. */
class EventListeners {
  private readonly byEvent = new Map<string, Set<Listener>>()

  add(event: string, listener: Listener): () => void {
    let set = this.byEvent.get(event)
    if (!set) {
      set = new Set()
      this.byEvent.set(event, set)
    }
    set.add(listener)
    return () => set.delete(listener)
  }

  dispatch(event: string, payload: unknown): void {
    for (const listener of this.byEvent.get(event) ?? []) {
      try {
        listener(payload)
      } catch (err) {
        // One faulty listener must not keep the event from the others.
        console.error(`api: listener for "${event}" threw`, err)
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Electron: the preload bridge
// ---------------------------------------------------------------------------------------------

type PreloadResult<K extends CallName> =
  { ok: true; value: CallOutput<K> } | { ok: false; error: ApiErrorShape }

export function createIpcClient(bridge: PreloadApi): StudioApi {
  const listeners = new EventListeners()
  bridge.onEvent((event, payload) => listeners.dispatch(event, payload))
  return {
    transport: 'ipc',
    // The bridge lives as long as the window: there is nothing to connect to or lose.
    connection: readonly(ref<ConnectionState>('connected')),
    async fileLocation(file: File): Promise<string> {
      const path = bridge.pathForFile(file)
      if (!path) throw new ApiError('invalid_input', `${file.name}: this file has no location on disk`)
      return path
    },
    async call<K extends CallName>(name: K, input: CallInput<K>): Promise<CallOutput<K>> {
      const method = bridge[name] as unknown as
        ((input: CallInput<K>) => Promise<PreloadResult<K>>) | undefined
      if (typeof method !== 'function') {
        throw new ApiError('unknown_call', `${name}: the preload bridge does not expose this call`)
      }
      const result = await method(input)
      if (!result.ok) throw ApiError.from(result.error)
      return result.value
    },
    on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
      return listeners.add(event, listener as Listener)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Browser: WebSocket to the headless server
// ---------------------------------------------------------------------------------------------

const TOKEN_KEY = 'finetuneStudio.token'

/**
 * The server hands out `/?token=T`. It also sets an HttpOnly cookie, but the token is kept in
 * sessionStorage so that the socket URL carries it even where the cookie is not sent, and it is
 * taken out of the address bar so that it does not end up in screenshots, history or shared links.
 */
export function takeAccessToken(location: Location, storage: Storage, history: History): string | null {
  const url = new URL(location.href)
  const fromQuery = url.searchParams.get('token')
  if (fromQuery) {
    storage.setItem(TOKEN_KEY, fromQuery)
    url.searchParams.delete('token')
    history.replaceState(history.state, '', url.pathname + url.search + url.hash)
    return fromQuery
  }
  return storage.getItem(TOKEN_KEY)
}

export function socketUrl(location: Pick<Location, 'protocol' | 'host'>, token: string | null): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  const query = token ? `?token=${encodeURIComponent(token)}` : ''
  return `${scheme}//${location.host}/api/ws${query}`
}

/** Delay before reconnect attempt `attempt` (0-based): doubling from 250 ms, capped at 10 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(250 * 2 ** attempt, 10_000)
}

interface PendingCall {
  name: string
  frame: string
  resolve(value: unknown): void
  reject(error: ApiError): void
  sent: boolean
}

type ServerFrame =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: ApiErrorShape }
  | { event: string; payload: unknown }

function parseServerFrame(data: unknown): ServerFrame {
  if (typeof data !== 'string') throw new Error(`expected a text frame, got ${typeof data}`)
  const frame = JSON.parse(data) as unknown
  if (typeof frame !== 'object' || frame === null) throw new Error(`expected a JSON object, got ${data}`)
  const f = frame as Record<string, unknown>
  if (typeof f.event === 'string') return { event: f.event, payload: f.payload }
  if (typeof f.id === 'number' && f.ok === true) return { id: f.id, ok: true, value: f.value }
  if (typeof f.id === 'number' && f.ok === false && typeof f.error === 'object' && f.error !== null) {
    return { id: f.id, ok: false, error: f.error as ApiErrorShape }
  }
  throw new Error(`neither a reply nor an event: ${data.slice(0, 200)}`)
}

export function createSocketClient(url: string): StudioApi {
  const listeners = new EventListeners()
  const connection = ref<ConnectionState>('connecting')
  const pending = new Map<number, PendingCall>()
  let nextId = 1
  let socket: WebSocket | null = null
  let failedAttempts = 0

  function sendQueued(): void {
    for (const call of pending.values()) {
      if (!call.sent && socket?.readyState === WebSocket.OPEN) {
        socket.send(call.frame)
        call.sent = true
      }
    }
  }

  /** Calls already sent will never be answered by the socket that closed; unsent ones wait. */
  function failSentCalls(reason: string): void {
    for (const [id, call] of pending) {
      if (call.sent) {
        pending.delete(id)
        call.reject(new ApiError('transport', `${call.name}: ${reason}`))
      }
    }
  }

  function onFrame(data: unknown): void {
    let frame: ServerFrame
    try {
      frame = parseServerFrame(data)
    } catch (err) {
      console.error(`api: unreadable frame from ${url}: ${(err as Error).message}`)
      return
    }
    if ('event' in frame) {
      listeners.dispatch(frame.event, frame.payload)
      return
    }
    const call = pending.get(frame.id)
    if (!call) return
    pending.delete(frame.id)
    if (frame.ok) call.resolve(frame.value)
    else call.reject(ApiError.from(frame.error))
  }

  function connect(): void {
    connection.value = 'connecting'
    const ws = new WebSocket(url)
    socket = ws
    ws.onopen = () => {
      failedAttempts = 0
      connection.value = 'connected'
      sendQueued()
    }
    ws.onmessage = (message) => onFrame(message.data)
    ws.onclose = (close) => {
      if (socket !== ws) return
      socket = null
      connection.value = 'disconnected'
      failSentCalls(`the connection to the server closed (code ${close.code}) before it answered`)
      setTimeout(connect, reconnectDelayMs(failedAttempts++))
    }
  }

  connect()

  return {
    transport: 'websocket',
    connection: readonly(connection),
    fileLocation: uploadFile,
    call<K extends CallName>(name: K, input: CallInput<K>): Promise<CallOutput<K>> {
      return new Promise((resolve, reject) => {
        const id = nextId++
        const frame = JSON.stringify({ id, call: name, input })
        pending.set(id, { name, frame, resolve: resolve as (value: unknown) => void, reject, sent: false })
        sendQueued()
      })
    },
    on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
      return listeners.add(event, listener as Listener)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The one client of this window
// ---------------------------------------------------------------------------------------------

let client: StudioApi | null = null

/**
 * Sends a picked file to the server (authorised by the page's cookie) and returns where it stored it.
 * The custom header is what the server takes as proof that its own page sends the file: a page on
 * another site cannot set it.
 */
async function uploadFile(file: File): Promise<string> {
  const response = await fetch(`/api/upload?name=${encodeURIComponent(file.name)}`, {
    method: 'POST',
    headers: { 'X-Finetune-Studio': 'upload' },
    body: file
  })
  const body = (await response.json().catch(() => null)) as
    { ok: true; value: { path: string } } | { ok: false; error: ApiErrorShape } | null
  if (!body) throw new ApiError('transport', `upload of ${file.name} failed: HTTP ${response.status}`)
  if (!body.ok) throw ApiError.from(body.error)
  return body.value.path
}

/** Electron when the preload bridge is there, otherwise the server that served this page. */
export function useApi(): StudioApi {
  if (!client) {
    client = window.finetuneStudio
      ? createIpcClient(window.finetuneStudio)
      : createSocketClient(
          socketUrl(window.location, takeAccessToken(window.location, sessionStorage, history))
        )
  }
  return client
}
