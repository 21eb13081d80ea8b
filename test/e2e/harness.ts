/** What every browser end-to-end test needs: a build of the app and Debian's headless Chromium. */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
export const screenshotDir = join(repoRoot, 'test-results')

/** Chromium as root, offline: without the background-networking flags it keeps dialling out. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
}

/** Builds the app (into `outDir`, default out/) and returns the built renderer's folder. */
export function buildApp(outDir?: string): string {
  const args = ['electron-vite', 'build', ...(outDir ? ['--outDir', outDir] : [])]
  const build = spawnSync('npx', args, { cwd: repoRoot, encoding: 'utf8' })
  if (build.status !== 0) {
    throw new Error(`npx ${args.join(' ')} exited with ${build.status}:\n${build.stdout}\n${build.stderr}`)
  }
  return join(outDir ?? join(repoRoot, 'out'), 'renderer')
}
