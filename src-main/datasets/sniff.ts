/**
 * What an import file that should be text is, from its first bytes, when it is not UTF-8 text:
 * empty, UTF-16, compressed, an archive, Parquet or other binary data. Read as text, each of these
 * would only come out as rows that cannot be read, or as columns no format fits; said up front,
 * the user knows what to do with the file.
 */

/** Bytes read from the start of the file to tell what it is. */
export const SNIFF_BYTES = 4096

/** Formats recognised by their magic bytes, with what to do about each. */
const SIGNATURES: { magic: number[]; problem: string }[] = [
  { magic: [0x1f, 0x8b], problem: 'the file is gzip-compressed; decompress it first (gunzip)' },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], problem: 'the file is zstd-compressed; decompress it first (unzstd)' },
  { magic: [0x42, 0x5a, 0x68], problem: 'the file is bzip2-compressed; decompress it first (bunzip2)' },
  {
    magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
    problem: 'the file is xz-compressed; decompress it first (unxz)'
  },
  {
    magic: [0x50, 0x4b, 0x03, 0x04],
    problem: 'the file is a ZIP archive; extract the data file from it first'
  },
  { magic: [0x50, 0x41, 0x52, 0x31], problem: 'the file is Parquet, not text; import it as parquet' }
]

function startsWith(head: Uint8Array, magic: readonly number[]): boolean {
  return head.length >= magic.length && magic.every((byte, i) => head[i] === byte)
}

/** UTF-16 text of mostly ASCII characters has a zero byte in every other place, and text has no others. */
function utf16Order(head: Uint8Array): 'LE' | 'BE' | null {
  if (startsWith(head, [0xff, 0xfe])) return 'LE'
  if (startsWith(head, [0xfe, 0xff])) return 'BE'
  const pairs = Math.floor(head.length / 2)
  if (pairs < 2) return null
  let zeroEven = 0
  let zeroOdd = 0
  for (let i = 0; i < pairs * 2; i += 2) {
    if (head[i] === 0) zeroEven++
    if (head[i + 1] === 0) zeroOdd++
  }
  if (zeroOdd > pairs * 0.4 && zeroEven < pairs * 0.05) return 'LE'
  if (zeroEven > pairs * 0.4 && zeroOdd < pairs * 0.05) return 'BE'
  return null
}

/**
 * Control characters that text does not hold: all below 0x20 but tab, line breaks, form feed,
 * vertical tab and escape (which do turn up in copied text).
 */
function isBinaryByte(byte: number): boolean {
  return (
    byte < 0x20 &&
    byte !== 0x09 &&
    byte !== 0x0a &&
    byte !== 0x0b &&
    byte !== 0x0c &&
    byte !== 0x0d &&
    byte !== 0x1b
  )
}

/**
 * Share of binary bytes past which a head is binary data rather than text with a stray control
 * character (which is the bad row's to report). Random data has about one in ten.
 */
const BINARY_SHARE = 0.01

function binaryOffset(head: Uint8Array): number | null {
  let first = -1
  let count = 0
  for (let i = 0; i < head.length; i++) {
    if (!isBinaryByte(head[i])) continue
    if (first < 0) first = i
    // A zero byte is never text, however few there are.
    if (head[i] === 0) return first
    count++
  }
  return count > head.length * BINARY_SHARE ? first : null
}

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d
}

/**
 * Why a file of `size` bytes starting with `head` (its first SNIFF_BYTES) cannot be read as UTF-8
 * text, or null when it may be.
 */
export function textFileProblem(head: Uint8Array, size: number): string | null {
  if (size === 0) return 'the file is empty'
  const text = startsWith(head, [0xef, 0xbb, 0xbf]) ? head.subarray(3) : head
  if (head.length === size && text.every(isWhitespace)) return 'the file is empty (only whitespace)'
  const order = utf16Order(head)
  if (order) return `the file is UTF-16 (${order}) encoded; save it as UTF-8`
  const signature = SIGNATURES.find(({ magic }) => startsWith(head, magic))
  if (signature) return signature.problem
  const offset = binaryOffset(head)
  if (offset !== null) return `not a text file (binary data at byte ${offset})`
  return null
}
