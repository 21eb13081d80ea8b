/**
 * The renderer tests' stand-in for the preload bridge: calls are answered by per-test handlers and
 * recorded, and the test emits the events. Installed as `window.finetuneStudio`, which is what the
 * renderer's api.ts talks to in the desktop app.
 */
import type { ApiErrorShape, CallName, EventName, Events, PreloadApi } from '../../src-preload/contract'

export type Reply = { ok: true; value: unknown } | { ok: false; error: ApiErrorShape }
/** Call inputs as the handlers read them; the contract's types are checked by the stores. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Input = any
export type Handler = (input: Input) => Reply | Promise<Reply>

export class ScriptedBridge {
  handlers = new Map<string, Handler>()
  calls: { name: string; input: Input }[] = []
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
        return async (input: unknown) => {
          this.calls.push({ name: key, input })
          const handler = this.handlers.get(key)
          if (!handler) throw new Error(`test bridge: no handler for ${key}`)
          return handler(input)
        }
      }
    })
  }

  handle(name: CallName, handler: Handler): void {
    this.handlers.set(name, handler)
  }

  emit<E extends EventName>(event: E, payload: Events[E]): void {
    this.listener?.(event, payload)
  }

  callsOf(name: CallName): Input[] {
    return this.calls.filter((call) => call.name === name).map((call) => call.input)
  }

  /** Forgets the handlers and the recorded calls (between tests). */
  reset(): void {
    this.handlers.clear()
    this.calls = []
  }
}

/** A bridge installed as the page's preload API. */
export function installScriptedBridge(): ScriptedBridge {
  const bridge = new ScriptedBridge()
  ;(globalThis as { window?: unknown }).window = { finetuneStudio: bridge.asPreloadApi() }
  return bridge
}

export const ok = (value: unknown): Reply => ({ ok: true, value })

/** Lets pending promise callbacks and Vue's queued watchers run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0))
}
