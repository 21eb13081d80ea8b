/**
 * Whether the process that owns a run is still there. Runs are owned by an API context (the app,
 * `serve`, or the CLI), which refreshes a heartbeat about twice a second while it queues or trains
 * them; the store may be opened by several such processes at once.
 *
 * An owner is gone when its process no longer exists, or when its heartbeat is older than
 * HEARTBEAT_STALE_MS (which also covers a process id that was reused by an unrelated process, and
 * an owner frozen for that long). Process ids are only meaningful on this machine: a store shared
 * between machines is not supported.
 */
import { processExists } from '../processes'

export const HEARTBEAT_INTERVAL_MS = 500
export const HEARTBEAT_STALE_MS = 15_000

export function ownerAlive(pid: number, heartbeatAt: string | null, now = Date.now()): boolean {
  if (!processExists(pid)) return false
  if (heartbeatAt === null) return false
  return now - Date.parse(heartbeatAt) < HEARTBEAT_STALE_MS
}
