/** Errors in a task file or its data: each names the file, the key and, for data, the row. */

export interface RowPlace {
  /** 0-based index of the row among the split's rows (lm-eval's doc id). */
  row: number
  split: string
  /** The data file and the line the row starts on (Parquet: the 1-based row number). */
  dataFile?: string
  line?: number
}

function describeRow(place: RowPlace): string {
  const where =
    place.dataFile === undefined
      ? ''
      : `, ${place.dataFile}${place.line === undefined ? '' : ` line ${place.line}`}`
  return `row ${place.row} of split "${place.split}"${where}`
}

export class TaskFileError extends Error {
  readonly file: string
  /** The task-file key at fault, as a path ("metric_list[0].regexes_to_ignore[2]"); null for the file as a whole. */
  readonly key: string | null
  readonly place: RowPlace | null

  constructor(file: string, key: string | null, reason: string, place: RowPlace | null = null) {
    const parts = [file]
    if (key !== null) parts.push(`"${key}"`)
    if (place !== null) parts.push(describeRow(place))
    super(`${parts.join(': ')}: ${reason}`)
    this.name = 'TaskFileError'
    this.file = file
    this.key = key
    this.place = place
  }
}
