/**
 * Whether a process of this machine is still there, by id: the store's run owners and importing
 * processes, and the processes that left temporary files, are judged by it. Ids are only
 * meaningful on this machine (a store shared between machines is not supported).
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
