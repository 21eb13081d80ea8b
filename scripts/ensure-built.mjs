// Builds the app when out/ is missing or older than any source file, so `npm run cli` always runs current code.
import { execSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const outputs = ['out/main/cli.js', 'out/main/job-worker.js', 'out/renderer/index.html'].map((f) =>
  join(root, f)
)

function newestMtime(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }
  return newest
}

const sources = ['src-main', 'src-preload', 'src-renderer'].map((d) => newestMtime(join(root, d)))
const builtAt = outputs.every(existsSync) ? Math.min(...outputs.map((f) => statSync(f).mtimeMs)) : 0
if (builtAt < Math.max(...sources)) {
  console.error('finetune-studio: building (sources changed since the last build)…')
  execSync('npx electron-vite build', { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
}
