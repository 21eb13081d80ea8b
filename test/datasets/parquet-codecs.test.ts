/**
 * Parquet in every codec Hugging Face datasets ship: the same chat table once per codec (written by
 * reference/make_parquet_codecs.py with the codecs' reference libraries), files from other writers
 * (apache/parquet-testing), and what is refused: a codec still unread, data that cannot be
 * decompressed, a page claiming more than its codec can hold. Provenance: test/fixtures/parquet/README.md.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet'
import { describe, expect, it } from 'vitest'
import { importFile } from '../../src-main/datasets/import'
import { defaultMapping } from '../../src-main/datasets/import-mapping'
import { previewImport } from '../../src-main/datasets/import-preview'
import { readParquetRows, type ParquetRow } from '../../src-main/datasets/parquet'
import { liveSamples, makeTempDir, openTempStore } from '../store/helpers'
import { importRequest } from './import-helpers'
import { LZO, ZSTD, writeParquetStrings } from './parquet-fixture'

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'parquet')
const PARQUET_TESTING = join(FIXTURES, 'parquet-testing')

/** chat.<name>.parquet, and the codec its footer must name. */
const CHAT_CODECS = {
  uncompressed: 'UNCOMPRESSED',
  snappy: 'SNAPPY',
  gzip: 'GZIP',
  brotli: 'BROTLI',
  lz4: 'LZ4',
  lz4_raw: 'LZ4_RAW',
  zstd: 'ZSTD'
} as const

const SYSTEM = { role: 'system', content: 'You are a helpful assistant. Answer briefly.' }

/** The table reference/make_parquet_codecs.py writes. */
const CHAT_ROWS: ParquetRow[] = [
  {
    id: 1,
    messages: [
      SYSTEM,
      { role: 'user', content: 'Grüße aus Zürich! Wie spät ist es?' },
      { role: 'assistant', content: 'Guten Tag! Ich habe keine Uhr, leider.' }
    ],
    source: 'de-chat'
  },
  {
    id: 2,
    messages: [
      SYSTEM,
      { role: 'user', content: '日本語で答えてください。' },
      { role: 'assistant', content: 'はい、日本語で答えます。' }
    ],
    source: null
  },
  {
    id: 3,
    messages: [
      { role: 'user', content: 'Say hello 👋 in three languages.' },
      { role: 'assistant', content: 'Hello 👋, bonjour, привет.' }
    ],
    source: 'multilingual'
  },
  {
    id: 4,
    messages: [SYSTEM, { role: 'user', content: 'What is 2 + 2?' }, { role: 'assistant', content: '4.' }],
    source: 'math'
  }
]

async function readAll(file: string): Promise<ParquetRow[]> {
  const rows: ParquetRow[] = []
  for await (const slice of readParquetRows(file)) rows.push(...slice.rows)
  return rows
}

async function codecsOf(file: string): Promise<string[]> {
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(file))
  return [...new Set(metadata.row_groups.flatMap((group) => group.columns.map((c) => c.meta_data!.codec)))]
}

function preview(file: string) {
  return previewImport({ file, fileType: 'auto', format: 'auto', limit: 5 })
}

/**
 * A copy of `fixture` with a byte of its first compressed page broken: the one `skip` bytes after
 * the page's leading `magic` (its stream's header).
 */
function withBrokenPage(fixture: string, magic: number[], skip: number): string {
  const bytes = readFileSync(fixture)
  const at = bytes.indexOf(Buffer.from(magic))
  expect(at).toBeGreaterThan(4)
  bytes[at + skip] = 0xff
  const file = join(makeTempDir(), 'broken.parquet')
  writeFileSync(file, bytes)
  return file
}

describe('Parquet codecs', () => {
  it.each(Object.entries(CHAT_CODECS))(
    'reads the %s chat table to the same rows as the uncompressed one',
    async (name, codec) => {
      const file = join(FIXTURES, `chat.${name}.parquet`)
      expect(await codecsOf(file)).toEqual([codec])
      expect(await readAll(file)).toEqual(CHAT_ROWS)
    }
  )

  it('imports a ZSTD file, in the reader thread and directly', async () => {
    const file = join(FIXTURES, 'chat.zstd.parquet')
    expect(await preview(file)).toMatchObject({ fileType: 'parquet', mapping: { format: 'messages' } })
    for (const directImportBytes of [0, Number.MAX_SAFE_INTEGER]) {
      const store = openTempStore()
      const request = importRequest(file, defaultMapping('messages', ['messages']))
      expect(await importFile(store, request, { directImportBytes })).toMatchObject({ ok: true, imported: 4 })
      const samples = liveSamples(store, 1)
      expect(samples[1].conversation.messages.map((m) => m.content)).toEqual(
        (CHAT_ROWS[1].messages as { content: string }[]).map((m) => m.content)
      )
    }
  })

  it('reads the LZ4 framings other writers use (Hadoop, bare block, LZ4_RAW) to the same rows', async () => {
    const expected = [
      { c0: 1593604800, c1: 'abc', v11: 42 },
      { c0: 1593604800, c1: 'def', v11: 7.7 },
      { c0: 1593604801, c1: 'abc', v11: 42.125 },
      { c0: 1593604801, c1: 'def', v11: 7.7 }
    ]
    for (const [name, codec] of [
      ['hadoop_lz4_compressed', 'LZ4'],
      ['non_hadoop_lz4_compressed', 'LZ4'],
      ['lz4_raw_compressed', 'LZ4_RAW']
    ]) {
      const file = join(PARQUET_TESTING, `${name}.parquet`)
      expect(await codecsOf(file)).toEqual([codec])
      expect(await readAll(file)).toEqual(expected)
    }
  })

  it('reads a GZIP page of two gzip members and a ZSTD file from Arrow', async () => {
    const gzip = join(PARQUET_TESTING, 'concatenated_gzip_members.parquet')
    expect(await codecsOf(gzip)).toEqual(['GZIP'])
    expect(await readAll(gzip)).toEqual(Array.from({ length: 513 }, (_, i) => ({ long_col: i + 1 })))
    const zstd = join(PARQUET_TESTING, 'byte_stream_split.zstd.parquet')
    expect(await codecsOf(zstd)).toEqual(['ZSTD'])
    const rows = await readAll(zstd)
    expect(rows).toHaveLength(300)
    // numpy's standard normals for seed 0, the first as a float32.
    expect(rows[0].f32).toBeCloseTo(1.764052345967664, 6)
    expect(rows[1].f32).toBeCloseTo(0.4001572083672233, 6)
  })

  it('refuses a Brotli page claiming 1 GiB (a real 4 KiB file), before decompressing it', async () => {
    const file = join(PARQUET_TESTING, 'large_string_map.brotli.parquet')
    await expect(preview(file)).rejects.toThrow(
      'large_string_map.brotli.parquet: row group 1, column "arr.key_value.key": the page at byte 4 claims 1.0 GiB uncompressed, more than a page holds (256.0 MiB)'
    )
  })

  it('refuses a page claiming more than ZSTD can expand it', async () => {
    const file = join(makeTempDir(), 'zstd-bomb.parquet')
    writeParquetStrings(file, [{ text: 'hello' }], 1, { claimedCodec: ZSTD, claimedPageBytes: 1 << 20 })
    await expect(preview(file)).rejects.toThrow(
      /^zstd-bomb\.parquet: row group 1, column "text": the page at byte 4 claims to decompress 9 bytes to 1\.0 MiB, more than ZSTD can$/
    )
  })

  // ZSTD: the frame's magic number; GZIP: the deflate stream's first block (type 3 is reserved),
  // after the 10-byte gzip header, whose magic the decoder does not check.
  it.each([
    ['ZSTD', 'chat.zstd.parquet', [0x28, 0xb5, 0x2f, 0xfd], 0],
    ['GZIP', 'chat.gzip.parquet', [0x1f, 0x8b, 0x08], 10]
  ])(
    'names the file, row group, column and codec of %s data that cannot be decompressed',
    async (codec, name, magic, skip) => {
      const file = withBrokenPage(join(FIXTURES, name), magic, skip)
      await expect(preview(file)).rejects.toThrow(
        new RegExp(
          `^broken\\.parquet: row group 1, column "id": its ${codec} data cannot be decompressed \\(.+\\)$`
        )
      )
    }
  )

  it('names the file, column and codec of a codec still unread (LZO)', async () => {
    const file = join(makeTempDir(), 'lzo.parquet')
    writeParquetStrings(file, [{ text: 'hello' }], 1, { claimedCodec: LZO })
    const message =
      'lzo.parquet: row group 1, column "text" is LZO-compressed, which cannot be read here; ' +
      'write the file with one of UNCOMPRESSED, SNAPPY, GZIP, LZ4, LZ4_RAW, ZSTD, BROTLI'
    await expect(preview(file)).rejects.toThrow(message)
    const store = openTempStore()
    await expect(
      importFile(store, importRequest(file, { format: 'text', columns: { text: 'text' } }))
    ).rejects.toThrow(`datasets.import: ${message}`)
  })
})
