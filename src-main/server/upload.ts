import { randomUUID } from 'node:crypto'
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { basename, join } from 'node:path'
import { pipeline } from 'node:stream/promises'

/** Files larger than this are refused: a dataset that big belongs on the server's disk already. */
export const MAX_UPLOAD_BYTES = 8 * 1024 ** 3

/** A file name safe to put in a path: letters, digits, dot, dash, underscore. */
export function safeFileName(name: string): string {
  const cleaned = basename(name)
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^\.+/, '')
  return cleaned.slice(0, 120) || 'upload'
}

/**
 * Streams a request body into `<store>/uploads/`, written under a temporary name and renamed when
 * complete, so an interrupted upload never looks like a whole file. Returns the stored path.
 */
export async function receiveUpload(req: IncomingMessage, storeDir: string, name: string): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > MAX_UPLOAD_BYTES) throw new Error(`upload: ${name} is larger than ${MAX_UPLOAD_BYTES} bytes`)
  const dir = join(storeDir, 'uploads')
  mkdirSync(dir, { recursive: true })
  const target = join(dir, `${randomUUID().slice(0, 8)}-${safeFileName(name)}`)
  const partial = `${target}.partial`
  let received = 0
  req.on('data', (chunk: Buffer) => {
    received += chunk.length
    if (received > MAX_UPLOAD_BYTES)
      req.destroy(new Error(`upload: ${name} is larger than ${MAX_UPLOAD_BYTES} bytes`))
  })
  try {
    await pipeline(req, createWriteStream(partial))
    renameSync(partial, target)
    return target
  } catch (err) {
    rmSync(partial, { force: true })
    throw err
  }
}
