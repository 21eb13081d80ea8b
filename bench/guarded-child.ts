/**
 * Runs one benchmark setting in a child process whose JSON report is its stdout, and watches the
 * machine's memory while it runs: a setting too big for the machine is stopped before the kernel's
 * OOM killer has to choose a victim (on a shared machine it might choose someone else's process),
 * and every way a child can end (report, error, signal) comes back as an outcome, never a throw.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Below this much available memory the child is stopped: the rest of the machine keeps a margin. */
const MIN_AVAILABLE_BYTES = 512 * 2 ** 20
const POLL_MS = 200
/** How much of the child's stderr is kept for the failure message. */
const STDERR_TAIL_CHARS = 4000

export type ChildOutcome<T> =
  | { ok: true; report: T }
  | {
      ok: false
      failure: string
      /** The child's peak RSS as last seen from outside (VmHWM), when it ran long enough to be seen. */
      peakRssBytes?: number
    }

/** A `kB` field of a /proc status or meminfo file, in bytes; undefined when absent or unreadable. */
export function procKilobytes(path: string, field: string): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(path, 'utf8'))
    return match ? Number(match[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

export function availableMemoryBytes(): number {
  const available = procKilobytes('/proc/meminfo', 'MemAvailable')
  if (available === undefined) throw new Error('bench: /proc/meminfo has no MemAvailable (Linux only)')
  return available
}

/** Why a child exited with `code`: the `failure` its JSON states, else the last line of its stderr. */
function exitFailure(code: number | null, stdout: string, stderr: string): string {
  try {
    const failure = (JSON.parse(stdout) as { failure?: unknown }).failure
    if (typeof failure === 'string') return failure
  } catch {
    // Not a report: the child died before printing one.
  }
  // Node ends a crash with its version and Python with the exception: the error line is what says why.
  const lines = stderr.split('\n').filter((line) => line.trim() !== '')
  const errorLine = lines.findLast((line) => /^\s*[\w.]*(Error|Exception)\b/.test(line)) ?? lines.at(-1)
  return `exit ${code}: ${errorLine?.trim() ?? 'no message'}`
}

/**
 * Runs `command args`, stopping it when the machine's available memory falls under
 * `minAvailableBytes` (default MIN_AVAILABLE_BYTES).
 */
export function runGuardedChild<T>(
  command: string,
  args: readonly string[],
  { minAvailableBytes = MIN_AVAILABLE_BYTES }: { minAvailableBytes?: number } = {}
): Promise<ChildOutcome<T>> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let peakRssBytes: number | undefined
    let stoppedForMemory = false
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS)
    })
    const watch = setInterval(() => {
      peakRssBytes = procKilobytes(`/proc/${child.pid}/status`, 'VmHWM') ?? peakRssBytes
      if (!stoppedForMemory && availableMemoryBytes() < minAvailableBytes) {
        stoppedForMemory = true
        child.kill('SIGKILL')
      }
    }, POLL_MS)
    const gib = (bytes: number | undefined): string =>
      bytes === undefined ? '?' : `${(bytes / 2 ** 30).toFixed(1)} GiB`
    child.on('error', (error) => {
      clearInterval(watch)
      resolve({ ok: false, failure: `${command} could not start: ${error.message}` })
    })
    child.on('close', (code, signal) => {
      clearInterval(watch)
      if (stoppedForMemory) {
        resolve({
          ok: false,
          failure: `stopped at ${gib(peakRssBytes)} RSS: the machine had under ${gib(minAvailableBytes)} available`,
          peakRssBytes
        })
      } else if (signal) {
        const oom = signal === 'SIGKILL' ? ' (likely the kernel OOM killer)' : ''
        resolve({ ok: false, failure: `killed by ${signal}${oom} at ${gib(peakRssBytes)} RSS`, peakRssBytes })
      } else if (code !== 0) {
        resolve({ ok: false, failure: exitFailure(code, stdout, stderr), peakRssBytes })
      } else {
        try {
          resolve({ ok: true, report: JSON.parse(stdout) as T })
        } catch {
          resolve({ ok: false, failure: `the report is not JSON: ${stdout.slice(0, 200)}`, peakRssBytes })
        }
      }
    })
  })
}
