/**
 * `GET /download/exports/<id>`: an export's file, or its folder as a `.tar` (tar.ts), streamed to
 * the served UI's Download button. The path on disk is the export record's, looked up by the id;
 * nothing of the request names a file. The route is behind the same token as everything else, and
 * like the API it answers only this server's own page (a download from another site is refused).
 */
import { createReadStream, statSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { basename } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { completedExport } from '../api/exports'
import { ApiError } from '../api/errors'
import type { RequestContext } from '../api/handlers'
import { requireSameOrigin } from './guard'
import { HttpError } from './respond'
import { tarEntriesOf, tarLength, writeTar } from '../api/exports-tar'

export const DOWNLOAD_PREFIX = '/download/exports/'

const STATUS_BY_CODE: Record<string, number> = { not_found: 404, conflict: 409, invalid_input: 400 }

/** The export id a download path names: digits only, no leading zero, nothing after. */
function exportIdOf(pathname: string): number {
  const raw = pathname.slice(DOWNLOAD_PREFIX.length)
  if (!/^[1-9][0-9]{0,14}$/.test(raw)) {
    throw new HttpError(
      400,
      'invalid_input',
      `download: ${JSON.stringify(raw.slice(0, 100))} is not an export id`
    )
  }
  return Number(raw)
}

/** `attachment` with an ASCII fallback name and the exact one in RFC 5987 form. */
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^A-Za-z0-9._-]/g, '_')
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(name)}`
}

export async function answerDownload(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  ctx: RequestContext
): Promise<void> {
  if (req.method !== 'GET') {
    throw new HttpError(405, 'invalid_input', `download: use GET, not ${req.method}`, { allow: 'GET' })
  }
  requireSameOrigin(req, 'download')
  const id = exportIdOf(url.pathname)
  let path: string
  try {
    path = completedExport(ctx, 'download', id).path
  } catch (error) {
    if (!(error instanceof ApiError)) throw error
    throw new HttpError(STATUS_BY_CODE[error.code] ?? 500, error.code, error.message)
  }
  const common = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' }
  if (statSync(path).isFile()) {
    res.writeHead(200, {
      ...common,
      'content-type': 'application/octet-stream',
      'content-length': String(statSync(path).size),
      'content-disposition': contentDisposition(basename(path))
    })
    await pipeline(createReadStream(path), res)
    return
  }
  const entries = tarEntriesOf(path, basename(path))
  res.writeHead(200, {
    ...common,
    'content-type': 'application/x-tar',
    'content-length': String(tarLength(entries)),
    'content-disposition': contentDisposition(`${basename(path)}.tar`)
  })
  await writeTar(res, entries)
  res.end()
}
