// `npm run app`: starts the Electron app from this checkout.
// 1. Electron's binary is not downloaded by `npm install` (package.json denies its install script, so
//    installs work offline-from-everything-but-npm); it is fetched here on first use.
// 2. better-sqlite3 and re2 are native modules built for Node (tests use those builds). Electron needs
//    its own builds, so a copy of each is compiled against Electron's headers into out/native/ and the
//    app loads those (FINETUNE_STUDIO_SQLITE_BINDING, FINETUNE_STUDIO_RE2_MODULE); node_modules is left
//    as it is.
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

/** A copy of a native package compiled for Electron under out/native/ (first run only); returns its folder. */
function electronBuild(packageName, addonFile) {
  const sourceDir = dirname(require.resolve(`${packageName}/package.json`))
  const copy = join(root, 'out', 'native', `${packageName}-electron-${electronVersion}`)
  if (!existsSync(join(copy, 'build', 'Release', addonFile))) {
    console.log(`app: building ${packageName} for Electron ${electronVersion} (first run only)…`)
    rmSync(copy, { recursive: true, force: true })
    mkdirSync(dirname(copy), { recursive: true })
    cpSync(sourceDir, copy, { recursive: true, filter: (src) => !src.includes(`${sourceDir}/build`) })
    const gypArgs = [
      'rebuild',
      '--release',
      `--target=${electronVersion}`,
      '--dist-url=https://electronjs.org/headers',
      '--runtime=electron'
    ]
    run('npx', ['--yes', 'node-gyp', ...gypArgs], copy)
  }
  return copy
}

const sqliteBinding = join(
  electronBuild('better-sqlite3', 'better_sqlite3.node'),
  'build',
  'Release',
  'better_sqlite3.node'
)
const re2Module = electronBuild('re2', 're2.node')

run(process.execPath, [join(root, 'scripts', 'ensure-built.mjs')])
const electronBinary = require('electron')
const child = spawn(electronBinary, [root, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: {
    ...process.env,
    FINETUNE_STUDIO_SQLITE_BINDING: sqliteBinding,
    FINETUNE_STUDIO_RE2_MODULE: re2Module
  }
})
child.on('exit', (code) => process.exit(code ?? 0))
