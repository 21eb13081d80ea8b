import { gzipSync } from 'node:zlib'
import { statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { importFile } from '../../src-main/datasets/import'
import { previewImport } from '../../src-main/datasets/import-preview'
import { MAX_DECODED_EXPANSION } from '../../src-main/datasets/parquet'
import { defaultMapping } from '../../src-main/datasets/import-mapping'
import type { ImportMapping } from '../../src-preload/contract'
import { liveSamples, makeTempDir, openTempStore } from '../store/helpers'
import { importRequest, sampleCount } from './import-helpers'
import { writeParquetRepeated, writeParquetStrings } from './parquet-fixture'

const MESSAGES = defaultMapping('messages', ['messages'])
const PROMPT_COMPLETION: ImportMapping = {
  format: 'prompt-completion',
  columns: { prompt: 'prompt', completion: 'completion' }
}
const TEXT: ImportMapping = { format: 'text', columns: { text: 'text' } }

function write(name: string, content: string | Buffer): string {
  const file = join(makeTempDir(), name)
  writeFileSync(file, content)
  return file
}

function preview(file: string) {
  return previewImport({ file, fileType: 'auto', format: 'auto', limit: 5 })
}

function datasetRows(store: ReturnType<typeof openTempStore>): number {
  return store.db.prepare('SELECT count(*) FROM datasets').pluck().get() as number
}

/** Imports `file` (through the reader thread) and expects it refused with `message`, leaving nothing. */
async function expectRefused(file: string, mapping: ImportMapping, message: string | RegExp): Promise<void> {
  const store = openTempStore()
  for (const directImportBytes of [0, Number.MAX_SAFE_INTEGER]) {
    await expect(importFile(store, importRequest(file, mapping), { directImportBytes })).rejects.toThrow(
      message
    )
  }
  expect(datasetRows(store)).toBe(0)
  expect(sampleCount(store)).toBe(0)
}

describe('a file that is not what an import reads says what it is', () => {
  const utf16 = (text: string, bom: boolean) =>
    Buffer.concat([Buffer.from(bom ? [0xff, 0xfe] : []), Buffer.from(text, 'utf16le')])
  const random = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919 + 13) % 256))
  const row = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'
  it.each([
    ['train.jsonl', '', 'train.jsonl: the file is empty'],
    ['blank.jsonl', ' \n\n  \r\n', 'blank.jsonl: the file is empty (only whitespace)'],
    ['data.json', utf16(`[${row}]`, true), 'data.json: the file is UTF-16 (LE) encoded; save it as UTF-8'],
    ['data.jsonl', utf16(row, false), 'data.jsonl: the file is UTF-16 (LE) encoded; save it as UTF-8'],
    ['x.bin', random, /x\.bin: not a text file \(binary data at byte \d+\)$/],
    ['x.jsonl.gz', gzipSync(row), 'x.jsonl.gz: the file is gzip-compressed; decompress it first (gunzip)'],
    ['a.csv', 'question,answer\n', 'a.csv: the file has a header ("question", "answer") but no rows'],
    [
      'q.csv',
      'question,answer\n"a",b\nc,d\ne,"f, g\nh,i\n',
      'q.csv, line 4: unbalanced quote: the quote opened at line 4, column 3 is never closed (the rest of the file would be one field)'
    ]
  ])('%s', async (name, content, message) => {
    const file = write(name, content)
    await expect(preview(file)).rejects.toThrow(message)
    await expectRefused(file, MESSAGES, message)
  })

  it('names a single JSON object and where its rows may be, instead of failing it line by line', async () => {
    const info = write(
      'dataset_info.json',
      JSON.stringify({ description: 'x', citation: 'y', splits: {} }, null, 2)
    )
    await expect(preview(info)).rejects.toThrow(
      'dataset_info.json: the file is a single JSON object, not a list of rows (keys: "description", "citation", "splits")'
    )
    const wrapped = write(
      'wrapped.json',
      JSON.stringify({ version: 1, data: [{ prompt: 'a', completion: 'b' }] }, null, 2)
    )
    await expect(preview(wrapped)).rejects.toThrow(
      /keys: "version", "data"\); if its rows are the list in "data", save that list as a JSON array or JSON Lines file$/
    )
    await expect(previewImport({ file: info, fileType: 'json', format: 'auto', limit: 5 })).rejects.toThrow(
      /^dataset_info\.json: the file is a single JSON object/
    )
    await expectRefused(info, MESSAGES, /dataset_info\.json: the file is a single JSON object/)
  })

  it('says that no row can be read, rather than that no format fits no columns', async () => {
    const file = write('garbled.jsonl', '{oops\n{"a": \n')
    expect((await preview(file)).notes).toEqual([
      expect.stringMatching(
        /^none of its first 2 rows can be read \(line 1: not valid JSON \(.+\)\); check that the file is what its name says$/
      )
    ])
  })

  it('still reads JSON Lines whose first line is broken, line by line', async () => {
    const file = write('broken-first.jsonl', `{"messages": [\n${row}`)
    const read = await preview(file)
    expect(read.rows.map((r) => [r.line, r.error === null])).toEqual([
      [1, false],
      [2, true]
    ])
  })
})

describe('nothing an import stores differs from the file without a word', () => {
  it('makes a row holding a number too large for a double a bad row, naming line, key and number', async () => {
    const file = write(
      'numbers.jsonl',
      [
        '{"prompt": "a", "completion": "b", "score": 1e308}',
        '{"prompt": "c", "completion": 1e400}',
        '{"prompt": "1e400", "completion": "d", "meta": {"w": [1, -2.5E+999]}}'
      ].join('\n')
    )
    const store = openTempStore()
    const outcome = await importFile(store, importRequest(file, PROMPT_COMPLETION, { onBadRows: 'skip' }))
    expect(outcome).toMatchObject({ ok: true, imported: 1, badRowCount: 2 })
    expect(outcome.badRows.map((r) => [r.line, r.reason])).toEqual([
      [
        2,
        'the number 1e400 in "completion" is too large to store (it would become Infinity); write it as a string'
      ],
      [
        3,
        'the number -2.5E+999 in "meta".w[1] is too large to store (it would become -Infinity); write it as a string'
      ]
    ])
    const [sample] = liveSamples(store, 1)
    expect(sample.conversation.metadata).toEqual({ score: 1e308 })
  })

  it('warns of invalid UTF-8 with its count and lines, in the preview and the import', async () => {
    const line = (text: Buffer) =>
      Buffer.concat([Buffer.from('{"prompt": "'), text, Buffer.from('", "completion": "ok"}\n')])
    const file = write(
      'latin1.jsonl',
      Buffer.concat([
        line(Buffer.from('fine \uFFFD as written')),
        line(Buffer.from([0x63, 0x61, 0x66, 0xe9])),
        line(Buffer.from('ok')),
        line(Buffer.from([0xc3, 0x28, 0x20, 0xe2, 0x82, 0x20, 0xff]))
      ])
    )
    const warning =
      'latin1.jsonl: 4 invalid UTF-8 sequences on 2 lines (2, 4) were read as U+FFFD (\uFFFD); ' +
      'to keep the original characters, save the file as UTF-8 and import it again'
    expect((await preview(file)).notes).toContain(warning)
    const store = openTempStore()
    const outcome = await importFile(store, importRequest(file, PROMPT_COMPLETION))
    expect(outcome).toMatchObject({ ok: true, imported: 4, warnings: [warning] })
    const clean = write('clean.jsonl', line(Buffer.from('café')))
    expect(
      await importFile(store, importRequest(clean, PROMPT_COMPLETION, { datasetName: 'b' }))
    ).toMatchObject({
      ok: true,
      warnings: []
    })
  })
})

describe('a file without a good row', () => {
  const bad = '{"messages": []}\n{"messages": "no"}\n'

  it.each(['skip', 'abort'] as const)(
    'imports nothing with onBadRows %s, and leaves no dataset',
    async (onBadRows) => {
      const file = write('all-bad.jsonl', bad)
      const store = openTempStore()
      for (const directImportBytes of [0, Number.MAX_SAFE_INTEGER]) {
        const outcome = await importFile(store, importRequest(file, MESSAGES, { onBadRows }), {
          directImportBytes
        })
        expect(outcome).toEqual({
          ok: false,
          message:
            'datasets.import: all-bad.jsonl has no row to import: all 2 rows are bad (the first, line 1: "messages" is empty); nothing was imported',
          badRows: [expect.objectContaining({ line: 1 }), expect.objectContaining({ line: 2 })],
          badRowCount: 2,
          goodRowCount: 0
        })
      }
      expect(datasetRows(store)).toBe(0)
      expect(store.db.prepare('SELECT count(*) FROM dataset_versions').pluck().get()).toBe(0)
    }
  )

  it('leaves an existing dataset as it was', async () => {
    const store = openTempStore()
    const { id } = store.datasets.create({ name: 'kept' })
    const file = write('all-bad.jsonl', bad)
    const request = importRequest(file, MESSAGES, {
      datasetName: undefined,
      datasetId: id,
      onBadRows: 'skip',
      cutVersion: true
    })
    expect(await importFile(store, request)).toMatchObject({ ok: false, goodRowCount: 0 })
    expect(store.datasets.get(id)).toMatchObject({ sampleCount: 0, versionCount: 0 })
  })

  it('refuses an empty JSON array', async () => {
    const store = openTempStore()
    const outcome = await importFile(
      store,
      importRequest(write('none.json', '[]'), MESSAGES, { onBadRows: 'skip' })
    )
    expect(outcome).toMatchObject({
      ok: false,
      message: 'datasets.import: none.json holds no rows; nothing was imported'
    })
    expect(datasetRows(store)).toBe(0)
  })
})

describe('a Parquet file that claims more than it holds is refused before it is decoded', () => {
  it('refuses 10^12 rows declared in a few hundred bytes', async () => {
    const file = join(makeTempDir(), 'forged.parquet')
    writeParquetStrings(file, [{ text: 'x' }], 1, { declaredRows: 1e12 })
    const size = statSync(file).size
    expect(size).toBeLessThan(300)
    const message = `forged.parquet: declares 1000000000000 rows in ${size} bytes: more rows than the file can hold`
    await expect(preview(file)).rejects.toThrow(message)
    await expectRefused(file, TEXT, message)
  })

  it('refuses a dictionary value repeated by run-length encoding into more rows than the file has bytes', async () => {
    const file = join(makeTempDir(), 'bomb.parquet')
    writeParquetRepeated(file, 'text', 'x'.repeat(4000), 230_000)
    expect(statSync(file).size).toBeLessThan(4400)
    await expect(preview(file)).rejects.toThrow(/^bomb\.parquet: declares 230000 rows in 4\.\d KiB/)
    await expectRefused(file, TEXT, /bomb\.parquet: declares 230000 rows/)
  })

  it(`stops rows that decode to more than ${MAX_DECODED_EXPANSION} times the file, naming row group and column`, async () => {
    // As many rows as the file has bytes, each the whole dictionary value: about 3,000² bytes.
    const file = join(makeTempDir(), 'repeated.parquet')
    writeParquetRepeated(file, 'text', 'y'.repeat(3000), 3000)
    expect(statSync(file).size).toBeGreaterThanOrEqual(3000)
    await expectRefused(
      file,
      TEXT,
      /repeated\.parquet: row group 1, column "text": the rows decode to more than 1000 times the file's \d\.\d KiB/
    )
  })

  it('refuses a page header claiming more than a page holds, or than its codec can decompress', async () => {
    const file = join(makeTempDir(), 'huge-page.parquet')
    writeParquetStrings(file, [{ text: 'hello' }], 1, { snappy: 'valid', claimedPageBytes: 1 << 30 })
    await expect(preview(file)).rejects.toThrow(
      'huge-page.parquet: row group 1, column "text": the page at byte 4 claims 1.0 GiB uncompressed, more than a page holds (256.0 MiB)'
    )
    writeParquetStrings(file, [{ text: 'hello' }], 1, { snappy: 'valid', claimedPageBytes: 100_000 })
    await expect(preview(file)).rejects.toThrow(
      /^huge-page\.parquet: row group 1, column "text": the page at byte 4 claims to decompress \d+ bytes to 97\.7 KiB, more than SNAPPY can$/
    )
  })

  it('refuses a column chunk the footer places past the end of the file', async () => {
    const file = join(makeTempDir(), 'far.parquet')
    writeParquetStrings(file, [{ text: 'hello' }], 1, { claimedChunkBytes: 1e9 })
    await expect(preview(file)).rejects.toThrow(
      /^far\.parquet: row group 1, column "text" claims bytes 4–1000000004, outside the file's data \(bytes 4–\d+\)$/
    )
  })

  it('refuses a row group whose data ends before the rows it declares', async () => {
    const file = join(makeTempDir(), 'short.parquet')
    writeParquetStrings(file, [{ text: 'a fairly long text to give the file its bytes' }], 1, {
      declaredRows: 40
    })
    await expectRefused(
      file,
      TEXT,
      'short.parquet: row group 1, column "text": its data ends after 1 row, fewer than the row group declares'
    )
  })

  it('names the file, row group and column of a page that cannot be decompressed', async () => {
    const file = join(makeTempDir(), 'bad-snappy.parquet')
    const rows = [{ prompt: 'a question', completion: 'an answer' }]
    writeParquetStrings(file, rows, 1, { snappy: 'corrupt' })
    const message =
      'bad-snappy.parquet: row group 1, column "prompt": cannot copy from before start of buffer'
    await expect(preview(file)).rejects.toThrow(message)
    await expectRefused(file, PROMPT_COMPLETION, `datasets.import: ${message}`)
  })

  it('reads a Snappy-compressed file, warning of text that is not UTF-8 and refusing NaN', async () => {
    const file = join(makeTempDir(), 'snappy.parquet')
    writeParquetStrings(
      file,
      [
        { prompt: 'first', completion: 'one', score: 0.5 },
        { prompt: Buffer.from([0x63, 0x61, 0x66, 0xe9]), completion: 'two', score: 1 },
        { prompt: 'third', completion: 'three', score: Number.NaN }
      ],
      3,
      { snappy: 'valid' }
    )
    const store = openTempStore()
    const outcome = await importFile(store, importRequest(file, PROMPT_COMPLETION, { onBadRows: 'skip' }))
    expect(outcome).toMatchObject({
      ok: true,
      imported: 2,
      badRows: [{ line: 3, reason: '"score" is NaN, which a sample cannot store (JSON has no such number)' }],
      warnings: [
        expect.stringMatching(/^snappy\.parquet: text that is not UTF-8 in row 2 was read as U\+FFFD/)
      ]
    })
  })
})
