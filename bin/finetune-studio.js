#!/usr/bin/env node
// The CLI runs from the bundle that `npm run build` writes (out/main/cli.js).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const entry = fileURLToPath(new URL('../out/main/cli.js', import.meta.url))
if (!existsSync(entry)) {
  console.error(
    'finetune-studio: not built yet: run `npm run build` (or `npm run cli -- <args>`, which builds first)'
  )
  process.exit(1)
}
await import(entry)
