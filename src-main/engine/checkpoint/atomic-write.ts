/** Files are replaced atomically: written beside their destination, flushed, then renamed over it. */
import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

/** A hidden, unique name in the destination's folder, so the final rename never crosses filesystems. */
export function temporaryPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
}

/**
 * Runs `write` on a temporary file descriptor, then flushes and renames the file to `path`. If
 * anything fails, the temporary file is removed and `path` is left as it was.
 */
export function replaceFileAtomically(path: string, write: (fd: number) => void): void {
  const temporary = temporaryPathBeside(path)
  const fd = openSync(temporary, 'w')
  let open = true
  try {
    write(fd)
    fsyncSync(fd)
    closeSync(fd)
    open = false
    renameSync(temporary, path)
  } catch (error) {
    if (open) closeSync(fd)
    rmSync(temporary, { force: true })
    throw error
  }
}

export function writeTextFileAtomically(path: string, text: string): void {
  replaceFileAtomically(path, (fd) => {
    writeSync(fd, text, null, 'utf8')
  })
}
