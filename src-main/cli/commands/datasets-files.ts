/**
 * The dataset commands that read or write files: preview and import a file, export a dataset to
 * one. They share the options that say how a file's rows are read, and the listing of bad rows.
 */
import {
  IMPORT_COLUMN_FIELDS,
  type ImportColumnField,
  type ImportFieldSource,
  type ImportMapping
} from '../../../src-preload/contract'
import { ApiError } from '../../api/errors'
import { SEARCH_INDEX_JOB } from '../../datasets/jobs'
import { SPLITS } from '../../datasets/splits'
import { JSON_OPTION, UsageError, type CliIO, type Command, type ParsedArgs } from '../command'
import { datasetIdArg, oneOf, positiveInt } from '../option-values'
import { withSession, type CliSession } from '../session'

const FORMATS = ['auto', 'messages', 'sharegpt', 'alpaca', 'prompt-completion', 'preference', 'text'] as const
const FILE_TYPES = ['auto', 'jsonl', 'json', 'csv', 'parquet', 'txt'] as const
const TEXT_UNITS = ['line', 'paragraph', 'document'] as const
const EXPORT_FORMATS = ['messages', 'sharegpt', 'alpaca', 'text'] as const
const BAD_ROWS_SHOWN = 20

/**
 * `--map prompt=question --map completion=answer` and `--template prompt='{{ question.stem }}'`
 * (with --format) as an import mapping.
 */
function mappingFrom(args: ParsedArgs): ImportMapping | undefined {
  const columns = fieldPairs(args, 'map', 'COLUMN')
  const templates = fieldPairs(args, 'template', 'TEMPLATE')
  if (Object.keys(columns).length + Object.keys(templates).length === 0) return undefined
  const format = oneOf('format', args.values.format, FORMATS)
  if (format === 'auto')
    throw new UsageError('--map and --template need --format (which format the fields belong to)')
  return Object.keys(templates).length > 0 ? { format, columns, templates } : { format, columns }
}

/** The FIELD=VALUE pairs of a repeatable option, by field. */
function fieldPairs(
  args: ParsedArgs,
  option: 'map' | 'template',
  what: string
): Partial<Record<ImportColumnField, string>> {
  const pairs: Partial<Record<ImportColumnField, string>> = {}
  for (const pair of (args.values[option] as string[] | undefined) ?? []) {
    const match = /^([a-z]+)=([\s\S]+)$/.exec(pair)
    if (!match || !IMPORT_COLUMN_FIELDS.includes(match[1] as ImportColumnField)) {
      throw new UsageError(
        `--${option} takes FIELD=${what} with FIELD one of ${IMPORT_COLUMN_FIELDS.join(', ')}, got ${JSON.stringify(pair)}`
      )
    }
    pairs[match[1] as ImportColumnField] = match[2]
  }
  return pairs
}

/** Text on one line of a terminal: its first 200 characters, line breaks written as \n. */
function shortLine(text: string): string {
  return (text.length > 200 ? `${text.slice(0, 200)}…` : text).replaceAll('\n', '\\n')
}

function describeMapping(mapping: ImportMapping): string {
  const fields = [
    ...Object.entries(mapping.columns).map(([field, column]) => `${field}=${column}`),
    ...Object.entries(mapping.templates ?? {}).map(
      ([field, template]) => `${field}=template ${shortLine(template)}`
    )
  ]
  return `${mapping.format} (${fields.join(' ')})`
}

/** A field's source as a person reads it: the column, or the template on one line. */
function describeSource(source: ImportFieldSource): string {
  return source.column !== undefined ? `"${source.column}"` : `template ${shortLine(source.template)}`
}

function printBadRows(
  io: CliIO,
  rows: { file: string; line: number; reason: string }[],
  total: number
): void {
  for (const row of rows.slice(0, BAD_ROWS_SHOWN)) io.err(`  line ${row.line}: ${row.reason}`)
  if (total > BAD_ROWS_SHOWN) io.err(`  … and ${total - BAD_ROWS_SHOWN} more bad lines`)
}

const IMPORT_SOURCE_OPTIONS = {
  format: {
    type: 'string',
    valueName: 'FORMAT',
    description: `row format: ${FORMATS.join(', ')}`,
    default: 'auto'
  },
  'file-type': {
    type: 'string',
    valueName: 'TYPE',
    description: `file type: ${FILE_TYPES.join(', ')}`,
    default: 'auto'
  },
  map: {
    type: 'string',
    valueName: 'FIELD=COLUMN',
    multiple: true,
    description:
      'map a source column (or a path into one: question.stem) to a format field (repeatable; needs --format), e.g. prompt=question'
  },
  template: {
    type: 'string',
    valueName: 'FIELD=JINJA',
    multiple: true,
    description:
      "compose a format field with a Jinja template over the row (repeatable; needs --format), e.g. completion='{{ answer }}'"
  },
  'text-unit': {
    type: 'string',
    valueName: 'UNIT',
    description: `how a .txt file is cut into samples: ${TEXT_UNITS.join(', ')}`,
    default: 'paragraph'
  }
} as const

export const datasetsPreviewCommand: Command = {
  words: ['datasets', 'preview'],
  summary: 'Show how a file would be imported: its detected format, mapping and first rows.',
  positionals: [{ name: 'file', description: 'a JSONL, JSON, CSV, Parquet or plain text (.txt) file' }],
  options: {
    ...IMPORT_SOURCE_OPTIONS,
    limit: { type: 'string', valueName: 'N', description: 'rows to show', default: '3' },
    json: JSON_OPTION
  },
  async run(args, io) {
    const input = {
      path: args.positionals[0],
      fileType: oneOf('file-type', args.values['file-type'], FILE_TYPES),
      format: oneOf('format', args.values.format, FORMATS),
      mapping: mappingFrom(args),
      textUnit: oneOf('text-unit', args.values['text-unit'], TEXT_UNITS),
      limit: positiveInt('limit', args.values.limit)
    }
    const preview = await withSession(args, (s) => s.call('datasets.previewImport', input))
    if (args.values.json) return io.out(JSON.stringify(preview, null, 2))
    io.out(`file type: ${preview.fileType}`)
    io.out(`columns:   ${preview.columns.join(', ')}`)
    io.out(
      `mapping:   ${preview.mapping ? describeMapping(preview.mapping) : 'none (map columns with --format and --map)'}`
    )
    for (const note of preview.notes) io.out(`note:      ${note}`)
    for (const choice of preview.fieldChoices) {
      io.out(`field:     ${choice.field} ← ${describeSource(choice.chosen)}: ${choice.why}`)
      for (const other of choice.alternatives) io.out(`           or ${describeSource(other)}: ${other.why}`)
    }
    for (const row of preview.rows) {
      io.out('')
      io.out(`line ${row.line}:${row.error ? ` cannot import: ${row.error}` : ''}`)
      if (row.conversation?.text !== undefined) io.out(`  text: ${shortLine(row.conversation.text)}`)
      if (row.conversation?.label !== undefined)
        io.out(`  label: ${row.conversation.label ? 'desirable' : 'undesirable'}`)
      for (const message of row.conversation?.messages ?? []) {
        io.out(`  ${message.role}: ${shortLine(message.content)}${message.tool_calls ? ' [tool calls]' : ''}`)
      }
    }
  }
}

export const datasetsImportCommand: Command = {
  words: ['datasets', 'import'],
  summary: 'Import a JSONL, JSON, CSV, Parquet or .txt file into a dataset (all rows or none).',
  details:
    'Formats: OpenAI messages, ShareGPT, Alpaca, prompt/completion (with a label: unpaired preference),\n' +
    'preference pairs and raw text ({"text"} rows; a .txt file cut by --text-unit), detected from\n' +
    'the columns unless --format says. Bad rows are listed with their line; by default they abort the\n' +
    'import (nothing is imported), --skip-bad-rows imports the rest; a file without a good row\n' +
    'imports nothing either way. Example (GSM8K):\n' +
    '  finetune-studio datasets import train.jsonl --name gsm8k --format prompt-completion \\\n' +
    '    --map prompt=question --map completion=answer',
  positionals: [{ name: 'file', description: 'a JSONL, JSON, CSV, Parquet or plain text (.txt) file' }],
  options: {
    name: {
      type: 'string',
      valueName: 'NAME',
      description: 'dataset to import into (created if new; default: the file name)'
    },
    dataset: { type: 'string', valueName: 'ID', description: 'existing dataset to import into' },
    ...IMPORT_SOURCE_OPTIONS,
    split: { type: 'string', valueName: 'SPLIT', description: 'train, validation or test', default: 'train' },
    tag: {
      type: 'string',
      valueName: 'TAG',
      multiple: true,
      description: 'tag every imported sample (repeatable)'
    },
    'skip-bad-rows': { type: 'boolean', description: 'import the good rows when some are bad' },
    'cut-version': { type: 'boolean', description: 'cut a dataset version after the import' },
    note: { type: 'string', valueName: 'TEXT', description: 'note of the version cut' },
    json: JSON_OPTION
  },
  async run(args, io) {
    const path = args.positionals[0]
    if (args.values.name !== undefined && args.values.dataset !== undefined) {
      throw new UsageError('give --name or --dataset, not both')
    }
    const target =
      args.values.dataset !== undefined
        ? { datasetId: datasetIdArg(args.values.dataset as string) }
        : {
            datasetName:
              (args.values.name as string | undefined) ??
              path
                .split(/[\\/]/)
                .pop()!
                .replace(/\.[^.]+$/, '')
          }
    const input = {
      path,
      ...target,
      fileType: oneOf('file-type', args.values['file-type'], FILE_TYPES),
      format: oneOf('format', args.values.format, FORMATS),
      mapping: mappingFrom(args),
      textUnit: oneOf('text-unit', args.values['text-unit'], TEXT_UNITS),
      split: oneOf('split', args.values.split, SPLITS),
      tags: (args.values.tag as string[] | undefined) ?? [],
      onBadRows: args.values['skip-bad-rows'] ? ('skip' as const) : ('abort' as const),
      cutVersion: Boolean(args.values['cut-version']),
      note: (args.values.note as string | undefined) ?? ''
    }
    try {
      await withSession(args, async (s) => {
        const result = await s.call('datasets.import', input)
        if (args.values.json) io.out(JSON.stringify(result, null, 2))
        else {
          io.out(
            `imported ${result.imported} samples into dataset ${result.dataset.id} (${result.dataset.name}) ` +
              `as ${describeMapping(result.mapping)} from ${result.fileType}`
          )
          if (result.badRowCount > 0) {
            io.err(`skipped ${result.badRowCount} bad rows:`)
            printBadRows(io, result.badRows, result.badRowCount)
          }
          for (const warning of result.warnings) io.err(`warning: ${warning}`)
          if (result.version)
            io.out(`cut version ${result.version.version} (${result.version.contentHash.slice(0, 12)})`)
        }
        await untilSearchable(s)
      })
    } catch (error) {
      const details =
        error instanceof ApiError ? (error.details as { badRows?: unknown } | undefined) : undefined
      if (details && Array.isArray(details.badRows) && details.badRows.length > 0) {
        const { badRows, badRowCount, goodRowCount } = details as {
          badRows: { file: string; line: number; reason: string }[]
          badRowCount: number
          goodRowCount: number
        }
        io.err(
          goodRowCount === 0
            ? 'bad rows (every row is bad; nothing was imported):'
            : 'bad rows (nothing was imported; --skip-bad-rows imports the rest):'
        )
        printBadRows(io, badRows, badRowCount)
      }
      throw error
    }
  }
}

/**
 * Waits for the search index to take in a large import (the app does this in the background, but a
 * CLI process would kill the job on exit), with its progress on a terminal.
 */
async function untilSearchable(session: CliSession): Promise<void> {
  const showProgress = process.stderr.isTTY
  const stopListening = session.ctx.events.subscribe((event, payload) => {
    if (showProgress && event === 'job.progress' && 'done' in payload && payload.kind === SEARCH_INDEX_JOB) {
      const percent = payload.total > 0 ? Math.floor((100 * payload.done) / payload.total) : 0
      process.stderr.write(`\rindexing for search ${percent}%`)
    }
  })
  try {
    await session.ctx.searchIndex.idle()
  } finally {
    stopListening()
    if (showProgress) process.stderr.write('\n')
  }
}

export const datasetsExportCommand: Command = {
  words: ['datasets', 'export'],
  summary: 'Write a dataset version (or a dataset’s live samples) to JSONL.',
  positionals: [{ name: 'out', description: 'the JSONL file to write' }],
  options: {
    version: { type: 'string', valueName: 'ID', description: 'dataset version id to export' },
    dataset: { type: 'string', valueName: 'ID', description: 'dataset id: export its live samples' },
    split: { type: 'string', valueName: 'SPLIT', description: 'with --dataset: only this split' },
    tag: {
      type: 'string',
      valueName: 'TAG',
      multiple: true,
      description: 'with --dataset: only samples with these tags'
    },
    format: {
      type: 'string',
      valueName: 'FORMAT',
      description: EXPORT_FORMATS.join(', '),
      default: 'messages'
    },
    overwrite: { type: 'boolean', description: 'replace OUT if it exists' },
    json: JSON_OPTION
  },
  async run(args, io) {
    if ((args.values.version === undefined) === (args.values.dataset === undefined)) {
      throw new UsageError('give exactly one of --version and --dataset')
    }
    const split = args.values.split === undefined ? undefined : oneOf('split', args.values.split, SPLITS)
    const tags = args.values.tag as string[] | undefined
    const input = {
      ...(args.values.version !== undefined
        ? { versionId: positiveInt('version', args.values.version) }
        : { datasetId: positiveInt('dataset', args.values.dataset), filter: { split, tags } }),
      format: oneOf('format', args.values.format, EXPORT_FORMATS),
      path: args.positionals[0],
      overwrite: Boolean(args.values.overwrite)
    }
    const result = await withSession(args, (s) => s.call('datasets.export', input))
    if (args.values.json) return io.out(JSON.stringify(result, null, 2))
    io.out(`wrote ${result.written} samples to ${result.path}`)
    if (result.skipped.length > 0) {
      io.err(`skipped ${result.skipped.length} samples the format cannot express:`)
      for (const s of result.skipped.slice(0, BAD_ROWS_SHOWN))
        io.err(`  sample ${s.sampleId ?? `#${s.position}`}: ${s.reason}`)
    }
  }
}
