import { watch } from 'vue'
import { useApi } from '../api'

/**
 * Runs `load` as soon as the API is connected and again after every reconnect, since events pushed
 * while the socket was down are lost and whatever was loaded may be stale. Bound to the calling
 * component's or store's scope, so the watcher goes away with it.
 */
export function useWhenConnected(load: () => unknown): void {
  const api = useApi()
  watch(
    api.connection,
    (state) => {
      if (state === 'connected') void load()
    },
    { immediate: true }
  )
}
