/**
 * `POST /api/upload`: a browser cannot hand the server a path on the user's machine, so the UI
 * uploads the file into `<store>/uploads/` and imports from there. Uploads are scratch copies: each
 * is bounded in size, all together by a quota, and removed once their lifetime is over.
 */
import { randomUUID } from 'node:crypto'
import { createWriteStream, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { basename, dirname, join } from 'node:path'
import { finished, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { formatBytes } from '../cli/format'
import { requireSameOrigin, requireUploadHeader } from './guard'
import { declaredLength, HttpError, sendJson } from './respond'

export const UPLOAD_PATH = '/api/upload'

const GIB = 1024 ** 3
const HOUR_MS = 3_600_000

export interface UploadLimits {
  /** One file: a dataset larger than this belongs on the server's disk already. */
  maxFileBytes: number
  /** All uploads together; one that would take the folder past it is refused. */
  quotaBytes: number
  /** How long after its arrival an upload is removed (kept longer while an import runs). */
  lifetimeMs: number
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  maxFileBytes: 8 * GIB,
  quotaBytes: 20 * GIB,
  lifetimeMs: 24 * HOUR_MS
}

/**
 * An upload in progress is written to `.<name>.partial`: a stored name never starts with a dot
 * (see safeFileName), so a finished upload of a file called `x.partial` is not taken for one.
 */
function partialPath(target: string): string {
  return join(dirname(target), `.${basename(target)}.partial`)
}

function isPartial(name: string): boolean {
  return name.startsWith('.')
}
const SWEEP_INTERVAL_MS = 10 * 60_000
/** An upload that receives nothing for this long is given up: a stalled client holds no file open. */
const UPLOAD_IDLE_MS = 5 * 60_000
/**
 * A live upload writes its `.partial` at least this often (or is given up and removes it), in this
 * server or another one on the same store; an older one was left by a server that was killed.
 */
const ABANDONED_PARTIAL_MS = 2 * UPLOAD_IDLE_MS

/** A file name safe to put in a path: letters, digits, dot, dash, underscore; never a leading dot. */
export function safeFileName(name: string): string {
  const cleaned = basename(name)
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^\.+/, '')
  return cleaned.slice(0, 120) || 'upload'
}

function failedWrite(name: string, err: unknown): HttpError {
  if (err instanceof HttpError) return err
  const error = err as NodeJS.ErrnoException
  if (error.code === 'ENOSPC') {
    return new HttpError(
      507,
      'failed',
      `upload: ${name}: the disk is full (${error.path ?? 'uploads folder'})`
    )
  }
  return new HttpError(500, 'internal', `upload: ${name}: ${error.message}`)
}

export class UploadFolder {
  /** Bytes of the finished (and abandoned) files in the folder: as of the last sweep, plus arrivals. */
  private storedBytes = 0
  /** Uploads this server is receiving: partial file → bytes received, or declared if more. */
  private readonly inProgress = new Map<string, number>()

  /**
   * `importRunning` says whether an import may be reading an upload now; while it does, expired
   * uploads are left for a later sweep.
   */
  constructor(
    readonly dir: string,
    private readonly limits: UploadLimits,
    private readonly importRunning: () => boolean,
    private readonly log: (line: string) => void
  ) {}

  /** Sweeps now and then every few minutes, until the returned function is called. */
  keepClean(): () => void {
    this.sweep()
    const timer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS)
    timer.unref()
    return () => clearInterval(timer)
  }

  /**
   * Removes uploads past their lifetime and `.partial` files no upload writes any more, and recounts
   * what is left. Never throws: a file it cannot remove is reported and tried again next time.
   */
  sweep(now = Date.now()): void {
    let names: string[]
    try {
      names = readdirSync(this.dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log(`uploads: cannot read ${this.dir}: ${err}`)
      this.storedBytes = 0
      return
    }
    const importRunning = this.importRunning()
    let stored = 0
    let removed = 0
    let freed = 0
    for (const name of names) {
      const path = join(this.dir, name)
      if (this.inProgress.has(path)) continue
      try {
        const stat = statSync(path)
        if (!stat.isFile()) continue
        const age = now - stat.mtimeMs
        const expired = isPartial(name)
          ? age > ABANDONED_PARTIAL_MS
          : age > this.limits.lifetimeMs && !importRunning
        if (!expired) {
          stored += stat.size
          continue
        }
        rmSync(path, { force: true })
        removed++
        freed += stat.size
      } catch (err) {
        this.log(`uploads: cannot remove ${path}: ${(err as Error).message}`)
      }
    }
    this.storedBytes = stored
    if (removed > 0) {
      this.log(
        `uploads: removed ${removed} expired or abandoned files (${formatBytes(freed)}) from ${this.dir}`
      )
    }
  }

  /** Why `bytes` more for the upload `partial` may not be stored, or null when they may. */
  private refusal(name: string, bytes: number, partial: string | null): HttpError | null {
    const { maxFileBytes, quotaBytes, lifetimeMs } = this.limits
    if (bytes > maxFileBytes) {
      return new HttpError(
        413,
        'invalid_input',
        `upload: ${name} is larger than ${formatBytes(maxFileBytes)}, the most one upload may have; ` +
          'copy the file to the server and import it by its path instead'
      )
    }
    let others = this.storedBytes
    for (const [path, held] of this.inProgress) if (path !== partial) others += held
    if (others + bytes <= quotaBytes) return null
    return new HttpError(
      413,
      'invalid_input',
      `upload: ${name} (${formatBytes(bytes)}${partial ? ' so far' : ''}) does not fit: the uploads folder ` +
        `holds ${formatBytes(others)} of its ${formatBytes(quotaBytes)} quota. Uploads are removed ` +
        `${Math.round(lifetimeMs / HOUR_MS)} h after they arrive; \`serve --upload-quota-gb N\` allows more`
    )
  }

  /**
   * Streams a request body into the folder under a temporary name, renamed when complete, so an
   * interrupted or refused upload never looks like a whole file. Size and quota are checked against
   * the declared length first and against what arrives as it arrives (a chunked body declares none).
   */
  async receive(req: IncomingMessage, name: string): Promise<string> {
    const declared = declaredLength(req) ?? 0
    const early = this.refusal(name, declared, null)
    if (early) throw early
    mkdirSync(this.dir, { recursive: true })
    const target = join(this.dir, `${randomUUID().slice(0, 8)}-${safeFileName(name)}`)
    const partial = partialPath(target)
    this.inProgress.set(partial, declared)
    let received = 0
    const gate = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        received += chunk.length
        this.inProgress.set(partial, Math.max(declared, received))
        done(this.refusal(name, received, partial), chunk)
      }
    })
    // The request is piped, not part of the pipeline: a refusal must stop it without destroying it,
    // or the connection would be cut before the client could read the answer. pipe() does not pass
    // on the end of a client that went away, so that is watched here.
    const stopWatching = finished(req, (err) => {
      if (err) gate.destroy(new HttpError(400, 'invalid_input', `upload: ${name}: the client went away`))
    })
    const onIdle = () =>
      gate.destroy(
        new HttpError(408, 'invalid_input', `upload: ${name}: nothing arrived for ${UPLOAD_IDLE_MS / 1000} s`)
      )
    req.setTimeout(UPLOAD_IDLE_MS, onIdle)
    req.pipe(gate)
    const file = createWriteStream(partial, { flags: 'wx' })
    try {
      await pipeline(gate, file)
      renameSync(partial, target)
      this.storedBytes += received
      return target
    } catch (err) {
      req.unpipe(gate)
      // A refusal can come before the file is even open: removed now, the opening would create it again.
      if (!file.closed) await new Promise<void>((closed) => file.once('close', () => closed()))
      rmSync(partial, { force: true })
      throw failedWrite(name, err)
    } finally {
      this.inProgress.delete(partial)
      stopWatching()
      req.off('timeout', onIdle)
      req.socket?.setTimeout(0)
    }
  }
}

export async function answerUpload(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  uploads: UploadFolder
): Promise<void> {
  if (req.method !== 'POST')
    throw new HttpError(405, 'invalid_input', `${UPLOAD_PATH}: use POST`, { allow: 'POST' })
  requireSameOrigin(req, UPLOAD_PATH)
  requireUploadHeader(req, UPLOAD_PATH)
  const path = await uploads.receive(req, url.searchParams.get('name') ?? 'upload')
  sendJson(res, 200, { ok: true, value: { path } })
}
