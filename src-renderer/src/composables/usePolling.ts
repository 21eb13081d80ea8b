import { onScopeDispose, watch } from 'vue'
import { useApi } from '../api'

/**
 * Calls `poll` every `intervalMs` while the API is connected (at once on connecting), until the
 * calling component or effect scope goes away. A poll still in flight is not overlapped.
 */
export function usePolling(poll: () => Promise<unknown>, intervalMs: number): void {
  const api = useApi()
  let timer: ReturnType<typeof setTimeout> | null = null
  let stopped = false
  let inFlight = false

  async function tick(): Promise<void> {
    timer = null
    if (stopped || inFlight || api.connection.value !== 'connected') return
    inFlight = true
    try {
      await poll()
    } finally {
      inFlight = false
      if (!stopped && !timer && api.connection.value === 'connected') timer = setTimeout(tick, intervalMs)
    }
  }

  watch(
    api.connection,
    (state) => {
      if (timer) clearTimeout(timer)
      timer = null
      if (state === 'connected') void tick()
    },
    { immediate: true }
  )

  onScopeDispose(() => {
    stopped = true
    if (timer) clearTimeout(timer)
  })
}
