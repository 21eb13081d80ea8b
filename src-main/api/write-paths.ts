/**
 * Paths a user names for us to write: a call's output file (datasets.export), the command line's
 * `score --out` file and `train --out` folder. One check for all of them: never inside the store
 * folder (an export over its studio.db destroys the store; its run folders and caches are its own),
 * whatever spelling leads there — `..`, a symbolic link, another letter case on a case-insensitive
 * filesystem — and never over what exists without the caller's explicit overwrite.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { ApiError } from './errors'

export interface OutputOptions {
  /** The user said to replace what is there. */
  overwrite: boolean
  /** How the user says so, for the refusal: `overwrite` in a call, `--overwrite` on the command line. */
  overwriteFlag: string
}

/**
 * The absolute path of an output file `path` that `operation` may write; throws an ApiError if it
 * may not. Its folder must exist, unless the writer creates it (`createsFolder`).
 */
export function checkOutputFile(
  operation: string,
  storeDir: string,
  path: string,
  options: OutputOptions & { createsFolder?: boolean }
): string {
  const file = resolve(path)
  const folder = dirname(file)
  const folderExists = existsSync(folder)
  if (folderExists ? !statSync(folder).isDirectory() : !options.createsFolder) {
    throw new ApiError('invalid_input', `${operation}: the folder ${folder} does not exist`)
  }
  refuseInsideStore(operation, storeDir, file)
  if (existsSync(file)) {
    if (statSync(file).isDirectory()) throw new ApiError('invalid_input', `${operation}: ${file} is a folder`)
    if (!options.overwrite) {
      throw new ApiError(
        'conflict',
        `${operation}: ${file} exists; pass ${options.overwriteFlag} to replace it`
      )
    }
  }
  return file
}

/**
 * The absolute path of an output folder `path` that `operation` may fill (created if missing): one
 * that holds files already needs overwrite, unless the work continues what is in it (`continuing`).
 */
export function checkOutputFolder(
  operation: string,
  storeDir: string,
  path: string,
  options: OutputOptions & { continuing: boolean }
): string {
  const folder = resolve(path)
  refuseInsideStore(operation, storeDir, folder)
  if (!existsSync(folder)) return folder
  if (!statSync(folder).isDirectory())
    throw new ApiError('invalid_input', `${operation}: ${folder} is a file`)
  if (readdirSync(folder).length > 0 && !options.overwrite && !options.continuing) {
    throw new ApiError(
      'conflict',
      `${operation}: ${folder} is not empty; pass ${options.overwriteFlag} to write into it (files of the same names are replaced)`
    )
  }
  return folder
}

function refuseInsideStore(operation: string, storeDir: string, target: string): void {
  if (!isInside(target, storeDir)) return
  throw new ApiError(
    'invalid_input',
    `${operation}: ${target} is inside the store folder ${storeDir}, which only Finetune Studio writes; choose a path outside it`
  )
}

/**
 * Whether `target` is `folder` or lies inside it. The target's path is first made physical (every
 * symbolic link of it resolved), then each of its folders is compared with `folder` as the
 * filesystem identifies them (device and inode), which holds whatever the spelling or letter case.
 */
function isInside(target: string, folder: string): boolean {
  const folderId = statSync(folder, { throwIfNoEntry: false })
  if (!folderId) return false
  for (let dir = physicalPath(target); ; dir = dirname(dir)) {
    const id = statSync(dir, { throwIfNoEntry: false })
    if (id && id.dev === folderId.dev && id.ino === folderId.ino) return true
    if (dirname(dir) === dir) return false
  }
}

/** `path` with its longest existing part resolved by the filesystem, the rest appended as written. */
function physicalPath(path: string): string {
  const missing: string[] = []
  let existing = path
  while (!existsSync(existing) && dirname(existing) !== existing) {
    missing.unshift(basename(existing))
    existing = dirname(existing)
  }
  return join(realpathSync.native(existing), ...missing)
}
