/**
 * The renderer tests' stand-in for the preload bridge: calls are answered by per-test handlers and
 * recorded, and the test emits the events. Installed as `window.finetuneStudio`, which is what the
 * renderer's api.ts talks to in the desktop app.
 *
 * Handlers are typed from the contract — a call's input as its schema takes it, its reply as the
 * call declares it — so that a scripted reply the real API could not give fails to compile.
 */
import type {
  ApiErrorShape,
  CallInput,
  CallName,
  CallOutput,
  EventName,
  Events,
  PreloadApi
} from '../../src-preload/contract'

export type Reply<K extends CallName> =
  { ok: true; value: CallOutput<K> } | { ok: false; error: ApiErrorShape }
export type Handler<K extends CallName> = (input: CallInput<K>) => Reply<K> | Promise<Reply<K>>

type Handlers = { [K in CallName]?: Handler<K> }
type RecordedCall = { [K in CallName]: { name: K; input: CallInput<K> } }[CallName]

export class ScriptedBridge {
  private handlers: Handlers = {}
  private calls: RecordedCall[] = []
  private listener: ((event: EventName, payload: unknown) => void) | null = null

  asPreloadApi(): PreloadApi {
    return new Proxy({} as PreloadApi, {
      get: (_target, key: string) => {
        if (key === 'onEvent') {
          return (listener: (event: EventName, payload: unknown) => void) => {
            this.listener = listener
            return () => (this.listener = null)
          }
        }
        // api.ts reaches only the calls' methods, each with its own call's input.
        return (input: CallInput<CallName>) => this.answer({ name: key, input } as RecordedCall)
      }
    })
  }

  private async answer<K extends CallName>(call: { name: K; input: CallInput<K> }): Promise<Reply<K>> {
    this.calls.push(call as RecordedCall)
    const handler: Handler<K> | undefined = this.handlers[call.name]
    if (!handler) throw new Error(`test bridge: no handler for ${call.name}`)
    return handler(call.input)
  }

  handle<K extends CallName>(name: K, handler: Handler<K>): void {
    // A mapped type is not written through a generic key; reading it back gives Handler<K> again.
    ;(this.handlers as Record<K, Handler<K>>)[name] = handler
  }

  emit<E extends EventName>(event: E, payload: Events[E]): void {
    this.listener?.(event, payload)
  }

  /** The inputs the renderer sent to one call, in order. */
  callsOf<K extends CallName>(name: K): CallInput<K>[] {
    return this.calls.filter((call) => call.name === name).map((call) => call.input as CallInput<K>)
  }

  /** Forgets the handlers and the recorded calls (between tests). */
  reset(): void {
    this.handlers = {}
    this.calls = []
  }
}

/** A bridge installed as the page's preload API. */
export function installScriptedBridge(): ScriptedBridge {
  const bridge = new ScriptedBridge()
  ;(globalThis as { window?: unknown }).window = { finetuneStudio: bridge.asPreloadApi() }
  return bridge
}

/**
 * A successful reply. Its value's type comes from where the reply goes (a handler's call output),
 * never from the value itself, so that a field the call does not declare fails to compile too.
 */
export const ok = <T>(value: NoInfer<T>): { ok: true; value: T } => ({ ok: true, value })

/** Lets pending promise callbacks and Vue's queued watchers run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0))
}
