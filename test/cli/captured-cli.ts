import { runCli } from '../../src-main/cli/index'

/** Runs the CLI in-process with its output captured: the exit code, stdout and stderr as text. */
export async function runCaptured(
  argv: string[]
): Promise<{ code: number; out: string; err: string; errLines: string[] }> {
  const out: string[] = []
  const err: string[] = []
  const code = await runCli(argv, { out: (line) => out.push(line), err: (line) => err.push(line) })
  return { code, out: out.join('\n'), err: err.join('\n'), errLines: err }
}
