/**
 * Other processes for the fault tests: one that has exited (its id is free), and TypeScript files
 * of the tests run in a process of their own through tsx, as another process of the app runs, so
 * that a test can kill it with SIGKILL.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'

const REPO_ROOT = join(import.meta.dirname, '..', '..')

/** The id of a process that has exited. */
export function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
  return Number(child.stdout.toString())
}

/** Starts `file` (a path relative to the repository) with `args`, its output collected. */
export function startTsProcess(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = {}
): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, file), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  return Object.assign(child, { output: () => output })
}

/** How the process ended. */
export async function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit')
  return { code: child.exitCode, signal: child.signalCode }
}
