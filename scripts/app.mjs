// `npm run app`: starts the Electron app from this checkout.
// 1. Electron's binary is not downloaded by `npm install` (package.json denies its install script, so
//    installs work offline-from-everything-but-npm); it is fetched here on first use.
// 2. better-sqlite3 is a native module built for Node (tests use that build). Electron needs its own
//    build, so a copy is compiled against Electron's headers into out/native/ and the app loads that one
//    (FINETUNE_STUDIO_SQLITE_BINDING); node_modules is left as it is.
// 3. The app is built if sources changed, then started.
import { execFileSync, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const require = createRequire(import.meta.url)
const electronDir = dirname(require.resolve('electron/package.json'))
const electronVersion = JSON.parse(readFileSync(join(electronDir, 'package.json'), 'utf8')).version

function run(command, args, cwd = root) {
  execFileSync(command, args, { cwd, stdio: 'inherit' })
}

if (!existsSync(join(electronDir, 'path.txt'))) {
  console.log(`app: downloading Electron ${electronVersion} (first run only)…`)
  run(process.execPath, [join(electronDir, 'install.js')], electronDir)
}

const sqliteDir = dirname(require.resolve('better-sqlite3/package.json'))
const electronSqlite = join(root, 'out', 'native', `better-sqlite3-electron-${electronVersion}`)
const binding = join(electronSqlite, 'build', 'Release', 'better_sqlite3.node')
if (!existsSync(binding)) {
  console.log(`app: building better-sqlite3 for Electron ${electronVersion} (first run only)…`)
  rmSync(electronSqlite, { recursive: true, force: true })
  mkdirSync(dirname(electronSqlite), { recursive: true })
  cpSync(sqliteDir, electronSqlite, { recursive: true, filter: (src) => !src.includes(`${sqliteDir}/build`) })
  const gypArgs = [
    'rebuild',
    '--release',
    `--target=${electronVersion}`,
    '--dist-url=https://electronjs.org/headers',
    '--runtime=electron'
  ]
  run('npx', ['--yes', 'node-gyp', ...gypArgs], electronSqlite)
}

run(process.execPath, [join(root, 'scripts', 'ensure-built.mjs')])
const electronBinary = require('electron')
const child = spawn(electronBinary, [root, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, FINETUNE_STUDIO_SQLITE_BINDING: binding }
})
child.on('exit', (code) => process.exit(code ?? 0))
