import { homedir as osHomedir } from 'node:os'
import path from 'node:path'

/** The SQLite file inside the store folder; weights and other artifacts live beside it. */
export const DATABASE_FILE = 'studio.db'

/** Where runs, evaluations and engine commands keep converted weights and compiled graphs. */
export function graphCacheDir(storeDir: string): string {
  return path.join(storeDir, 'graph-cache')
}

export interface StoreDirOptions {
  /** The value of `--store DIR`. */
  flag?: string
  env?: NodeJS.ProcessEnv
  platform?: NodeJS.Platform
  homedir?: string
  /** Base for a relative flag or env value; the process's working directory by default. */
  cwd?: string
}

export type StoreDirSource = 'flag' | 'env' | 'default'

/** Where the store lives: `--store DIR`, else $FINETUNE_STUDIO_HOME, else the OS app-data folder. */
export function resolveStoreDir(opts: StoreDirOptions = {}): { dir: string; source: StoreDirSource } {
  const env = opts.env ?? process.env
  const platform = opts.platform ?? process.platform
  // The platform's own path rules, so win32 paths are handled right when tests run on Linux.
  const paths = platform === 'win32' ? path.win32 : path.posix
  const cwd = opts.cwd ?? process.cwd()
  if (nonEmpty(opts.flag)) return { dir: paths.resolve(cwd, opts.flag), source: 'flag' }
  const fromEnv = env.FINETUNE_STUDIO_HOME
  if (nonEmpty(fromEnv)) return { dir: paths.resolve(cwd, fromEnv), source: 'env' }
  return { dir: defaultStoreDir(platform, env, opts.homedir ?? osHomedir()), source: 'default' }
}

function defaultStoreDir(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, home: string): string {
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', 'Finetune Studio')
  if (platform === 'win32') {
    const appData = nonEmpty(env.APPDATA) ? env.APPDATA : path.win32.join(home, 'AppData', 'Roaming')
    return path.win32.join(appData, 'Finetune Studio')
  }
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env.XDG_DATA_HOME
  const dataHome =
    nonEmpty(xdg) && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, '.local', 'share')
  return path.posix.join(dataHome, 'finetune-studio')
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== ''
}
