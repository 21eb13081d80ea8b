import type { EventName, Events } from '../../src-preload/contract'

export type EventListener = <E extends EventName>(event: E, payload: Events[E]) => void

/** Main → clients. Every door subscribes once and forwards what it hears to its clients. */
export class EventBus {
  private readonly listeners = new Set<EventListener>()

  emit<E extends EventName>(event: E, payload: Events[E]): void {
    for (const listener of this.listeners) {
      try {
        listener(event, payload)
      } catch {
        // One broken client (a closed socket, a destroyed window) must not starve the others.
      }
    }
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
