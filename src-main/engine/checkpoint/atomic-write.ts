/**
 * Files and folders are replaced atomically: written beside their destination under a hidden
 * temporary name, flushed, then renamed over it, so a reader sees the old version or the new one,
 * never a part. A process killed before the rename leaves its temporary behind; the temporary's
 * name carries the writer's process id, so whoever writes into that folder next removes it
 * (removeStaleTemporaries) once that process is gone.
 */
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync
} from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { processExists } from '../../processes'
import { injectWriteFault } from './injected-faults'

/** A hidden, unique name in the destination's folder, so the final rename never crosses filesystems. */
export function temporaryPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
}

/** `.<name>.<pid>.<8 hex>.tmp`, and `….tmp.old`: a replaced folder moved aside (replaceDirectory). */
const TEMPORARY_NAME = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp(\.old)?$/

export interface ReplaceOptions {
  /**
   * false: fail with EEXIST rather than replace a file that exists at `path` by the time it is
   * published (a file the caller found absent may have appeared since).
   */
  replace?: boolean
}

/**
 * Runs `write` on a temporary file descriptor, then flushes and renames the file to `path`. If
 * anything fails, the temporary file is removed, `path` is left as it was, and a filesystem error
 * names `path` (a failed write to a descriptor, such as a full disk's ENOSPC, names no file).
 */
export function replaceFileAtomically(
  path: string,
  write: (fd: number) => void,
  options: ReplaceOptions = {}
): void {
  const temporary = temporaryPathBeside(path)
  let fd: number | null = null
  try {
    fd = openSync(temporary, 'w')
    write(fd)
    injectWriteFault(path)
    fsyncSync(fd)
    closeSync(fd)
    fd = null
    if (options.replace === false) publishWithoutReplacing(temporary, path)
    else renameSync(temporary, path)
  } catch (error) {
    if (fd !== null) closeSync(fd)
    rmSync(temporary, { force: true })
    throw errorNamingPath(error, path)
  }
}

export function writeTextFileAtomically(path: string, text: string, options: ReplaceOptions = {}): void {
  replaceFileAtomically(
    path,
    (fd) => {
      writeSync(fd, text, null, 'utf8')
    },
    options
  )
}

/**
 * Links the file into place, which fails if `path` exists, then drops the temporary name. Where
 * the filesystem has no hard links (FAT, exFAT), checks and renames instead.
 */
function publishWithoutReplacing(temporary: string, path: string): void {
  try {
    linkSync(temporary, path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw error
    if (existsSync(path)) {
      throw Object.assign(new Error(`EEXIST: file already exists, rename '${temporary}' -> '${path}'`), {
        code: 'EEXIST'
      })
    }
    renameSync(temporary, path)
    return
  }
  rmSync(temporary)
}

/** A filesystem error that does not name `path` yet, as one that does (same code, the original as cause). */
export function errorNamingPath(error: unknown, path: string): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code
  if (!(error instanceof Error) || typeof code !== 'string' || error.message.includes(path)) return error
  return Object.assign(new Error(`cannot write ${path}: ${error.message}`, { cause: error }), { code })
}

/**
 * Fills the folder `dir` atomically: `fill` writes into a temporary folder beside it, whose files
 * are then flushed and which is renamed into place (replacing an existing `dir`). A failure removes
 * the temporary folder and leaves `dir` as it was. Returns what `fill` returns.
 */
export function writeFolderAtomically<T>(dir: string, fill: (temporary: string) => T): T {
  const parent = dirname(dir)
  mkdirSync(parent, { recursive: true })
  const temporary = temporaryPathBeside(dir)
  mkdirSync(temporary)
  try {
    const filled = fill(temporary)
    syncFolder(temporary)
    replaceDirectory(temporary, dir)
    syncDirectoryEntries(parent)
    return filled
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true })
    throw error
  }
}

/** Renames `from` to `to`; an existing `to` is moved aside first and removed after. */
export function replaceDirectory(from: string, to: string): void {
  if (!existsSync(to)) {
    renameSync(from, to)
    return
  }
  const aside = `${from}.old`
  renameSync(to, aside)
  try {
    renameSync(from, to)
  } catch (error) {
    renameSync(aside, to)
    throw error
  }
  rmSync(aside, { recursive: true, force: true })
}

/** Flushes every file directly in `dir` (files copied in are not flushed by the copy), then its entries. */
export function syncFolder(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue
    const fd = openSync(join(dir, entry.name), 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  }
  syncDirectoryEntries(dir)
}

/** Flushes a folder's entries (the renames inside it) to disk; a no-op where folders cannot be opened. */
export function syncDirectoryEntries(dir: string): void {
  let fd: number
  try {
    fd = openSync(dir, 'r')
  } catch {
    return
  }
  try {
    fsyncSync(fd)
  } catch {
    // Some platforms (Windows) refuse fsync on folders; the files themselves were flushed.
  } finally {
    closeSync(fd)
  }
}

/**
 * Removes the temporaries in `dir` that writers left when they died (their process is gone):
 * every one, or only those of the destination named `of`. A folder a killed replaceDirectory had
 * moved aside goes back into place when nothing took its place. Returns the paths removed.
 */
export function removeStaleTemporaries(dir: string, options: { of?: string } = {}): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  const removed: string[] = []
  for (const name of names) {
    const match = TEMPORARY_NAME.exec(name)
    if (!match || processExists(Number(match[2]))) continue
    const [, destination, , aside] = match
    if (options.of !== undefined && destination !== options.of) continue
    const path = join(dir, name)
    if (aside && !existsSync(join(dir, destination))) {
      renameSync(path, join(dir, destination))
      continue
    }
    rmSync(path, { recursive: true, force: true })
    removed.push(path)
  }
  return removed
}
