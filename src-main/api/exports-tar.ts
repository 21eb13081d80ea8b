/**
 * A folder as a POSIX ustar archive, streamed: exports that are folders (a PEFT adapter, a merged
 * HF model) download as one `.tar` that every platform's tar and Python's tarfile unpack. Tar, not
 * zip: it needs no central directory at the end and no compression (weights do not compress), so
 * the archive is the files' bytes with a 512-byte header before each, and its length is known
 * before the first byte goes out (Content-Length).
 *
 * Layout (POSIX.1-1988 ustar): per file a header block — name[100] mode[8] uid[8] gid[8] size[12]
 * mtime[12] chksum[8] typeflag[1] linkname[100] magic "ustar\0" version "00" … prefix[155] — then
 * the data padded to 512 bytes; two zero blocks end the archive. A size of 8 GiB or more does not
 * fit 11 octal digits and is written base-256 (GNU tar's extension: first byte 0x80, big-endian),
 * which GNU tar, bsdtar and Python read.
 */
import { createReadStream, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Writable } from 'node:stream'

const BLOCK = 512
const OCTAL_SIZE_LIMIT = 8 ** 11

export interface TarEntry {
  /** The name inside the archive: `<folder>/<file>`. */
  name: string
  path: string
  size: number
  mtimeSeconds: number
}

/** The regular files of `dir` (exports have no subfolders), under `folderName/` in the archive. */
export function tarEntriesOf(dir: string, folderName: string): TarEntry[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const path = join(dir, name)
      const stat = statSync(path)
      return {
        name: `${folderName}/${name}`,
        path,
        size: stat.size,
        mtimeSeconds: Math.floor(stat.mtimeMs / 1000)
      }
    })
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK
}

/** The archive's length in bytes. */
export function tarLength(entries: readonly TarEntry[]): number {
  return entries.reduce((sum, entry) => sum + BLOCK + padded(entry.size), 0) + 2 * BLOCK
}

function writeOctal(header: Buffer, offset: number, width: number, value: number): void {
  header.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'ascii')
}

function writeSize(header: Buffer, size: number): void {
  if (size < OCTAL_SIZE_LIMIT) return writeOctal(header, 124, 12, size)
  header[124] = 0x80
  let rest = BigInt(size)
  for (let i = 135; i > 124; i--) {
    header[i] = Number(rest & 0xffn)
    rest >>= 8n
  }
}

/** One entry's header block. Names longer than 100 bytes are split into prefix and name at a '/'. */
export function tarHeader(entry: TarEntry): Buffer {
  const header = Buffer.alloc(BLOCK, 0)
  const bytes = Buffer.from(entry.name, 'utf8')
  if (bytes.length <= 100) {
    bytes.copy(header, 0)
  } else {
    const cut = entry.name.lastIndexOf('/')
    const prefix = Buffer.from(entry.name.slice(0, cut), 'utf8')
    const name = Buffer.from(entry.name.slice(cut + 1), 'utf8')
    if (cut < 0 || prefix.length > 155 || name.length > 100) {
      throw new Error(`tar: the name ${entry.name} is too long for a ustar header`)
    }
    name.copy(header, 0)
    prefix.copy(header, 345)
  }
  writeOctal(header, 100, 8, 0o644)
  writeOctal(header, 108, 8, 0)
  writeOctal(header, 116, 8, 0)
  writeSize(header, entry.size)
  writeOctal(header, 136, 12, entry.mtimeSeconds)
  header.write('0', 156, 'ascii')
  header.write('ustar\0', 257, 'ascii')
  header.write('00', 263, 'ascii')
  // The checksum is computed with its own field read as eight spaces.
  header.fill(0x20, 148, 156)
  let sum = 0
  for (const byte of header) sum += byte
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii')
  return header
}

function write(out: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(chunk, (error) => (error ? reject(error) : resolve()))
  })
}

/** Streams the archive of `entries` into `out`, leaving `out` open. A file that changed size fails it. */
export async function writeTar(out: Writable, entries: readonly TarEntry[]): Promise<void> {
  for (const entry of entries) {
    await write(out, tarHeader(entry))
    let copied = 0
    if (entry.size > 0) {
      for await (const chunk of createReadStream(entry.path, { start: 0, end: entry.size - 1 })) {
        copied += (chunk as Buffer).length
        await write(out, chunk as Buffer)
      }
    }
    if (copied !== entry.size) throw new Error(`tar: ${entry.path} changed size while it was sent`)
    const padding = padded(entry.size) - entry.size
    if (padding > 0) await write(out, Buffer.alloc(padding, 0))
  }
  await write(out, Buffer.alloc(2 * BLOCK, 0))
}
