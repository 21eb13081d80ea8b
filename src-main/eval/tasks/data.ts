/**
 * A task's data: each split's rows read from its file with the dataset importer's readers (JSON
 * Lines or a JSON array, CSV, Parquet). A row that cannot be read is an error naming the task
 * file, the data_files key and the row, and so is text that is not UTF-8: an evaluation over
 * "all rows but the broken ones" would not be the benchmark.
 *
 * CSV cells are text, except that a column whose every cell is a whole number written plainly
 * ("0", "-12", not "007") is read as numbers, as pandas (behind lm-eval's csv loader) reads it:
 * `doc_to_target: answer` then gives a choice index, as in lm-eval.
 */
import { statSync } from 'node:fs'
import { basename } from 'node:path'
import type { ImportFileType } from '../../../src-preload/contract'
import { detectFileType, readRecords, SourceFileError, type RawRow } from '../../datasets/sources'
import { TaskFileError } from './errors'
import type { DataFormat, Doc } from './types'

export interface SplitData {
  split: string
  file: string
  docs: Doc[]
  /** Column names in order of first appearance. */
  columns: string[]
}

/** Whole numbers within JavaScript's exact range, written as Python prints them. */
const PLAIN_INTEGER = /^(?:0|-?[1-9][0-9]{0,14})$/

function fileTypeFor(format: DataFormat, path: string): ImportFileType | null {
  if (format === 'csv') return 'csv'
  if (format === 'parquet') return 'parquet'
  const detected = detectFileType(path)
  return detected === 'json' || detected === 'jsonl' ? detected : null
}

function integerColumns(rows: readonly RawRow[], columns: readonly string[]): string[] {
  return columns.filter((column) =>
    rows.every((row) => typeof row[column] === 'string' && PLAIN_INTEGER.test(row[column] as string))
  )
}

/** Reads one split's rows; `taskFile` and the split name go into every error. */
export async function readSplit(
  taskFile: string,
  format: DataFormat,
  split: string,
  path: string
): Promise<SplitData> {
  const key = `dataset_kwargs.data_files.${split}`
  try {
    if (!statSync(path).isFile()) throw new Error('not a regular file')
  } catch (error) {
    throw new TaskFileError(taskFile, key, `cannot read ${path}: ${(error as Error).message}`)
  }
  const fileType = fileTypeFor(format, path)
  if (fileType === null)
    throw new TaskFileError(
      taskFile,
      key,
      `${path} is not JSON Lines or a JSON array, as dataset_path "json" says`
    )
  const rows: RawRow[] = []
  const columns = new Set<string>()
  try {
    // Text that is not UTF-8 would be scored as U+FFFD: the benchmark would not be the one on disk.
    const onInvalidUtf8 = ({ lines }: { lines: number[] }) => {
      throw new TaskFileError(taskFile, key, `${basename(path)} is not UTF-8 text (line ${lines[0]})`)
    }
    for await (const batch of readRecords(path, fileType, { onInvalidUtf8 })) {
      for (const record of batch) {
        if ('error' in record) {
          throw new TaskFileError(taskFile, key, record.error, {
            row: rows.length,
            split,
            dataFile: basename(path),
            line: record.line
          })
        }
        for (const column of Object.keys(record.row)) columns.add(column)
        rows.push(record.row)
      }
    }
  } catch (error) {
    if (error instanceof SourceFileError) throw new TaskFileError(taskFile, key, error.message)
    throw error
  }
  if (rows.length === 0) throw new TaskFileError(taskFile, key, `${path} has no rows`)
  if (fileType === 'csv') {
    for (const column of integerColumns(rows, [...columns])) {
      for (const row of rows) row[column] = Number(row[column])
    }
  }
  return { split, file: path, docs: rows, columns: [...columns] }
}
