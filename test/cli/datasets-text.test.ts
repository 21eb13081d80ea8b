import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/temp'
import { runCaptured } from './captured-cli'

const cli = (...argv: string[]) => runCaptured(argv)

/** A real plain text file of paragraphs (test/fixtures/datasets/README.md). */
const LICENSE = join(import.meta.dirname, '..', 'fixtures', 'datasets', 'apache-2.0-license.txt')

describe('finetune-studio datasets … with a .txt file', () => {
  const dir = tempDir()
  const store = ['--store', join(dir.dir, 'store')]
  afterAll(() => dir.cleanup())

  it('previews, imports by --text-unit and exports --format text', async () => {
    const preview = await cli(
      'datasets',
      'preview',
      LICENSE,
      '--text-unit',
      'line',
      '--format',
      'text',
      '--limit',
      '1',
      ...store
    )
    expect(preview.code).toBe(0)
    expect(preview.out).toMatch(/^file type: txt$/m)
    expect(preview.out).toMatch(/^ {2}text: Apache License$/m)
    const imported = await cli(
      'datasets',
      'import',
      LICENSE,
      '--name',
      'license',
      '--format',
      'text',
      '--text-unit',
      'document',
      ...store
    )
    expect(imported.err).toBe('')
    expect(imported.out).toBe('imported 1 samples into dataset 1 (license) as text (text=text) from txt')
    const out = join(dir.dir, 'license.jsonl')
    const exported = await cli('datasets', 'export', out, '--dataset', '1', '--format', 'text', ...store)
    expect(exported.out).toBe(`wrote 1 samples to ${out}`)
    expect(JSON.parse(readFileSync(out, 'utf8')).text).toMatch(/^Apache License\n/)
    const bad = await cli('datasets', 'import', LICENSE, '--name', 'x', '--text-unit', 'chapter', ...store)
    expect(bad.err).toMatch(/--text-unit/)
  })
})
