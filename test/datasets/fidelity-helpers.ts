import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import { importFile, type ImportOutcome } from '../../src-main/datasets/import'
import { previewImport } from '../../src-main/datasets/import-preview'
import { normaliseRow } from '../../src-main/datasets/normalise'
import { RowError } from '../../src-main/datasets/raw-values'
import { exportSamples } from '../../src-main/datasets/work'
import type { Store } from '../../src-main/store'
import type {
  Conversation,
  ExportFormat,
  ImportFormat,
  ImportMapping,
  TextSampleUnit
} from '../../src-preload/contract'
import { liveSamples, makeTempDir } from '../store/helpers'
import { importRequest } from './import-helpers'

/** test/fixtures/datasets: real files (and files in documented shapes), see its README.md. */
export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'datasets')

/** The mapping of a format's usual columns for the file (as the preview makes it for a chosen format). */
export async function mappingOf(
  file: string,
  format: ImportFormat | 'auto',
  textUnit?: TextSampleUnit
): Promise<ImportMapping> {
  const preview = await previewImport({ file, fileType: 'auto', format, limit: 1, textUnit })
  return preview.mapping!
}

/** Imports the file into a new dataset `name` with the given mapping; the outcome must be ok. */
export async function importWith(
  store: Store,
  file: string,
  mapping: ImportMapping,
  name: string,
  textUnit?: TextSampleUnit
): Promise<Extract<ImportOutcome, { ok: true }>> {
  const outcome = await importFile(store, importRequest(file, mapping, { datasetName: name, textUnit }), {
    readInThisThread: true
  })
  if (!outcome.ok) throw new Error(outcome.message)
  return outcome
}

export function conversations(store: Store, datasetId: number): Conversation[] {
  return liveSamples(store, datasetId).map((s) => s.conversation)
}

/** The dataset exported in `format`: the file, its rows, and the reasons of the samples skipped. */
export function exported(
  store: Store,
  datasetId: number,
  format: ExportFormat
): { path: string; rows: Record<string, unknown>[]; skipped: string[] } {
  const path = join(makeTempDir(), `${format}.jsonl`)
  const outcome = exportSamples(store, { source: { datasetId, filter: {} }, format, path })
  const text = readFileSync(path, 'utf8').trim()
  const rows = text === '' ? [] : text.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
  expect(rows).toHaveLength(outcome.written)
  return { path, rows, skipped: outcome.skipped.map((s) => s.reason) }
}

export function jsonlRows(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

/** Why normaliseRow refuses the row (it must refuse it, with a RowError). */
export function reason(row: Record<string, unknown>, mapping: ImportMapping): string {
  try {
    normaliseRow(row, mapping)
  } catch (error) {
    expect(error).toBeInstanceOf(RowError)
    return (error as Error).message
  }
  throw new Error('expected the row to be refused')
}
