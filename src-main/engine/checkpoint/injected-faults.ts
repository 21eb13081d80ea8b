/**
 * Faults the fault tests inject into real writes, for a kill -9 or a full disk at an exact point
 * that no timing could hit: FINETUNE_STUDIO_TEST_FAULT="<fault>:<path fragment>" makes every
 * atomic file write whose destination contains the fragment fail, after the data is written to its
 * temporary file and before that is renamed into place. `kill` ends the process with SIGKILL (the
 * temporary file stays, as after a kill -9); `enospc` throws the error a full disk gives. Child
 * processes inherit it with the environment. Nothing sets it outside the tests.
 */
export const INJECTED_FAULT_ENV = 'FINETUNE_STUDIO_TEST_FAULT'

export function injectWriteFault(path: string): void {
  const spec = process.env[INJECTED_FAULT_ENV]
  if (!spec) return
  const colon = spec.indexOf(':')
  const fault = spec.slice(0, colon)
  if (colon < 0 || !path.includes(spec.slice(colon + 1))) return
  if (fault === 'kill') process.kill(process.pid, 'SIGKILL')
  if (fault === 'enospc') {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
      errno: -28,
      syscall: 'write'
    })
  }
}
