import type { ImportColumnField, ImportMapping } from '../../../src-preload/contract'
import { ApiError } from '../../api/errors'
import { JSON_OPTION, UsageError, type CliIO, type Command, type ParsedArgs } from '../command'
import { formatTable } from '../format'
import { withSession, type CliSession } from '../session'
import { SEARCH_INDEX_JOB } from '../../datasets/jobs'

const FORMATS = ['auto', 'messages', 'sharegpt', 'alpaca', 'prompt-completion', 'preference'] as const
const FILE_TYPES = ['auto', 'jsonl', 'json', 'csv', 'parquet'] as const
const FIELDS: readonly ImportColumnField[] = [
  'messages',
  'conversations',
  'tools',
  'system',
  'instruction',
  'input',
  'output',
  'history',
  'prompt',
  'completion',
  'chosen',
  'rejected',
  'reasoning'
]
const BAD_ROWS_SHOWN = 20

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`)
  }
  return value as T
}

function integerAtLeast(name: string, value: unknown, least: number): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < least) {
    const what = least === 1 ? 'a positive integer' : `an integer of at least ${least}`
    throw new UsageError(`--${name} must be ${what}, got ${JSON.stringify(value)}`)
  }
  return n
}

function positiveInt(name: string, value: unknown): number {
  return integerAtLeast(name, value, 1)
}

function datasetIdArg(value: string): number {
  const id = Number(value)
  if (!Number.isInteger(id) || id < 1)
    throw new UsageError(`DATASET must be a dataset id, got ${JSON.stringify(value)}`)
  return id
}

/** `--map prompt=question --map completion=answer` (with --format) as an import mapping. */
function mappingFrom(args: ParsedArgs): ImportMapping | undefined {
  const pairs = (args.values.map as string[] | undefined) ?? []
  if (pairs.length === 0) return undefined
  const format = oneOf('format', args.values.format, FORMATS)
  if (format === 'auto') throw new UsageError('--map needs --format (which format the columns map to)')
  const columns: ImportMapping['columns'] = {}
  for (const pair of pairs) {
    const match = /^([a-z]+)=(.+)$/.exec(pair)
    if (!match || !FIELDS.includes(match[1] as ImportColumnField)) {
      throw new UsageError(
        `--map takes FIELD=COLUMN with FIELD one of ${FIELDS.join(', ')}, got ${JSON.stringify(pair)}`
      )
    }
    columns[match[1] as ImportColumnField] = match[2]
  }
  return { format, columns }
}

function describeMapping(mapping: ImportMapping): string {
  const columns = Object.entries(mapping.columns)
    .map(([field, column]) => `${field}=${column}`)
    .join(' ')
  return `${mapping.format} (${columns})`
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
    description: 'map a source column to a format field (repeatable; needs --format), e.g. prompt=question'
  }
} as const

export const datasetsListCommand: Command = {
  words: ['datasets', 'list'],
  summary: 'List datasets and their latest version.',
  options: { json: JSON_OPTION },
  async run(args, io) {
    const rows = await withSession(args, (s) => s.call('datasets.list', {}))
    if (args.values.json) return io.out(JSON.stringify(rows, null, 2))
    if (rows.length === 0) return io.out('no datasets yet')
    io.out(
      formatTable(rows, [
        { header: 'ID', value: (d) => d.id },
        { header: 'NAME', value: (d) => d.name },
        { header: 'SAMPLES', value: (d) => d.sampleCount },
        { header: 'VERSIONS', value: (d) => d.versionCount },
        {
          header: 'LATEST',
          value: (d) =>
            d.latestVersion ? `v${d.latestVersion.version} (${d.latestVersion.sampleCount} samples)` : '-'
        },
        { header: 'CREATED', value: (d) => d.createdAt }
      ])
    )
  }
}

export const datasetsCreateCommand: Command = {
  words: ['datasets', 'create'],
  summary: 'Create an empty dataset.',
  positionals: [{ name: 'name', description: 'a unique name' }],
  options: {
    description: { type: 'string', valueName: 'TEXT', description: 'what the dataset is for' },
    json: JSON_OPTION
  },
  async run(args, io) {
    const input = {
      name: args.positionals[0],
      description: (args.values.description as string | undefined) ?? ''
    }
    const dataset = await withSession(args, (s) => s.call('datasets.create', input))
    io.out(
      args.values.json ? JSON.stringify(dataset, null, 2) : `created dataset ${dataset.id} (${dataset.name})`
    )
  }
}

export const datasetsPreviewCommand: Command = {
  words: ['datasets', 'preview'],
  summary: 'Show how a file would be imported: its detected format, mapping and first rows.',
  positionals: [{ name: 'file', description: 'a JSONL, JSON, CSV or Parquet file' }],
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
    for (const row of preview.rows) {
      io.out('')
      io.out(`line ${row.line}:${row.error ? ` cannot import: ${row.error}` : ''}`)
      for (const message of row.conversation?.messages ?? []) {
        const text = message.content.length > 200 ? `${message.content.slice(0, 200)}…` : message.content
        io.out(
          `  ${message.role}: ${text.replaceAll('\n', '\\n')}${message.tool_calls ? ' [tool calls]' : ''}`
        )
      }
    }
  }
}

export const datasetsImportCommand: Command = {
  words: ['datasets', 'import'],
  summary: 'Import a JSONL, JSON, CSV or Parquet file into a dataset (all rows or none).',
  details:
    'Formats: OpenAI messages, ShareGPT, Alpaca, prompt/completion and preference pairs, detected from\n' +
    'the columns unless --format says. Bad rows are listed with their line; by default they abort the\n' +
    'import (nothing is imported), --skip-bad-rows imports the rest; a file without a good row\n' +
    'imports nothing either way. Example (GSM8K):\n' +
    '  finetune-studio datasets import train.jsonl --name gsm8k --format prompt-completion \\\n' +
    '    --map prompt=question --map completion=answer',
  positionals: [{ name: 'file', description: 'a JSONL, JSON, CSV or Parquet file' }],
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
      split: oneOf('split', args.values.split, ['train', 'validation', 'test'] as const),
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

export const datasetsShowCommand: Command = {
  words: ['datasets', 'show'],
  summary: 'Show a dataset: sample counts per split, tags, roles and versions.',
  positionals: [{ name: 'dataset', description: 'dataset id' }],
  options: { json: JSON_OPTION },
  async run(args, io) {
    const id = datasetIdArg(args.positionals[0])
    const { detail, stats, versions } = await withSession(args, async (s) => ({
      detail: await s.call('datasets.get', { id }),
      stats: await s.call('datasets.stats', { id }),
      versions: await s.call('datasets.versions', { id })
    }))
    if (args.values.json) return io.out(JSON.stringify({ ...detail, stats, versions }, null, 2))
    io.out(`dataset ${detail.id}: ${detail.name}${detail.description ? ` — ${detail.description}` : ''}`)
    io.out(
      `samples:  ${detail.sampleCount} (train ${detail.splits.train}, validation ${detail.splits.validation}, ` +
        `test ${detail.splits.test}); ${detail.editedCount} edited, ${detail.deletedCount} deleted until the next cut`
    )
    io.out(`roles:    ${stats.roles.map((r) => `${r.role} ${r.messages}`).join(', ') || '-'}`)
    io.out(`tags:     ${detail.tags.map((t) => `${t.tag} ${t.count}`).join(', ') || '-'}`)
    io.out(
      `versions: ${versions.map((v) => `v${v.version} (${v.sampleCount}, ${v.contentHash.slice(0, 12)})`).join(', ') || '-'}`
    )
  }
}

export const datasetsSamplesCommand: Command = {
  words: ['datasets', 'samples'],
  summary: "List a dataset's samples, optionally only those matching a full-text search, split or tag.",
  positionals: [{ name: 'dataset', description: 'dataset id' }],
  options: {
    search: {
      type: 'string',
      valueName: 'TEXT',
      description: 'words that must all occur ("a phrase" in quotes, prefix*)'
    },
    split: { type: 'string', valueName: 'SPLIT', description: 'train, validation or test' },
    tag: { type: 'string', valueName: 'TAG', description: 'only samples with this tag' },
    limit: { type: 'string', valueName: 'N', description: 'rows to show', default: '20' },
    offset: { type: 'string', valueName: 'N', description: 'rows to skip', default: '0' },
    json: JSON_OPTION
  },
  async run(args, io) {
    const id = datasetIdArg(args.positionals[0])
    const filter = {
      ...(args.values.search !== undefined ? { search: args.values.search as string } : {}),
      ...(args.values.split !== undefined
        ? { split: oneOf('split', args.values.split, ['train', 'validation', 'test'] as const) }
        : {}),
      ...(args.values.tag !== undefined ? { tags: [args.values.tag as string] } : {})
    }
    const page = await withSession(args, async (s) => {
      const first = await s.call('datasets.samples', {
        id,
        filter,
        limit: positiveInt('limit', args.values.limit),
        offset: integerAtLeast('offset', args.values.offset, 0)
      })
      // The exact count of a very common search costs a little more; a command can wait for it.
      if (first.totalExact) return first
      const exact = await s.call('datasets.samples', { id, filter, limit: 0, exactTotal: true })
      return { ...first, total: exact.total, totalExact: true }
    })
    if (args.values.json) return io.out(JSON.stringify(page, null, 2))
    io.out(`${page.total} ${page.total === 1 ? 'sample' : 'samples'}${filter.search ? ' match' : ''}`)
    if (page.unindexed > 0)
      io.err(`${page.unindexed} samples of a recent import are not indexed for search yet`)
    if (page.rows.length === 0) return
    io.out(
      formatTable(page.rows, [
        { header: 'ID', value: (r) => String(r.id) },
        { header: 'SPLIT', value: (r) => r.split },
        { header: 'TAGS', value: (r) => r.tags.join(',') || '-' },
        { header: 'TURNS', value: (r) => String(r.messageCount) },
        { header: 'PROMPT', value: (r) => r.prompt.slice(0, 60).replaceAll('\n', ' ') }
      ])
    )
  }
}

export const datasetsCutCommand: Command = {
  words: ['datasets', 'cut'],
  summary: 'Freeze a dataset as it is now into a new immutable version.',
  positionals: [{ name: 'dataset', description: 'dataset id' }],
  options: { note: { type: 'string', valueName: 'TEXT', description: 'what changed' }, json: JSON_OPTION },
  async run(args, io) {
    const input = {
      id: datasetIdArg(args.positionals[0]),
      note: (args.values.note as string | undefined) ?? ''
    }
    const version = await withSession(args, (s) => s.call('datasets.cutVersion', input))
    if (args.values.json) return io.out(JSON.stringify(version, null, 2))
    io.out(
      `cut version ${version.version} (id ${version.id}): ${version.sampleCount} samples, ${version.contentHash}`
    )
  }
}

export const datasetsSplitCommand: Command = {
  words: ['datasets', 'split'],
  summary: 'Assign seeded train/validation/test splits to every live sample.',
  positionals: [{ name: 'dataset', description: 'dataset id' }],
  options: {
    ratios: {
      type: 'string',
      valueName: 'T,V,E',
      description: 'train,validation,test ratios',
      default: '0.8,0.1,0.1'
    },
    seed: { type: 'string', valueName: 'N', description: 'random seed', default: '0' },
    stratify: { type: 'boolean', description: 'keep the ratios within each tag' },
    json: JSON_OPTION
  },
  async run(args, io) {
    const ratios = String(args.values.ratios).split(',').map(Number)
    if (ratios.length !== 3 || ratios.some((r) => !(r >= 0 && r <= 1))) {
      throw new UsageError(`--ratios takes three numbers in 0..1, got ${JSON.stringify(args.values.ratios)}`)
    }
    const input = {
      id: datasetIdArg(args.positionals[0]),
      seed: Number(args.values.seed),
      ratios: { train: ratios[0], validation: ratios[1], test: ratios[2] },
      stratifyByTag: Boolean(args.values.stratify),
      author: 'cli'
    }
    const result = await withSession(args, (s) => s.call('datasets.assignSplits', input))
    if (args.values.json) return io.out(JSON.stringify(result, null, 2))
    io.out(
      `train ${result.counts.train}, validation ${result.counts.validation}, test ${result.counts.test} ` +
        `(${result.changed} samples changed split)`
    )
  }
}

export const datasetsDuplicatesCommand: Command = {
  words: ['datasets', 'duplicates'],
  summary: 'List exact duplicates, or search near duplicates (MinHash) with --near.',
  positionals: [{ name: 'dataset', description: 'dataset id' }],
  options: {
    near: { type: 'boolean', description: 'find near duplicates instead of exact ones' },
    threshold: {
      type: 'string',
      valueName: 'J',
      description: 'near: Jaccard similarity threshold',
      default: '0.8'
    },
    json: JSON_OPTION
  },
  async run(args, io) {
    const id = datasetIdArg(args.positionals[0])
    const report = await withSession(args, (s) =>
      args.values.near
        ? s.call('datasets.findNearDuplicates', { id, threshold: Number(args.values.threshold) })
        : s.call('datasets.duplicates', { id, kind: 'exact' })
    )
    if (args.values.json) return io.out(JSON.stringify(report, null, 2))
    if (report.groups.length === 0) return io.out(`no ${report.kind} duplicates`)
    io.out(
      formatTable(report.groups, [
        { header: 'SAMPLES', value: (g) => g.sampleIds.join(',') },
        { header: 'SIMILARITY', value: (g) => g.similarity.toFixed(2) },
        { header: 'PROMPT', value: (g) => g.prompt.slice(0, 60).replaceAll('\n', ' ') }
      ])
    )
  }
}

export const datasetsPreflightCommand: Command = {
  words: ['datasets', 'preflight'],
  summary: 'List samples that render empty, exceed the maximum length or have nothing to train on.',
  positionals: [{ name: 'dataset', description: 'dataset id' }],
  options: {
    model: {
      type: 'string',
      valueName: 'ID',
      description: 'base model whose chat template to use (default: the embedded one)'
    },
    'max-length': {
      type: 'string',
      valueName: 'N',
      description: "maximum tokens per sample (default: the model's context)"
    },
    json: JSON_OPTION
  },
  async run(args, io) {
    const input = {
      id: datasetIdArg(args.positionals[0]),
      baseModelId: args.values.model === undefined ? undefined : positiveInt('model', args.values.model),
      maxLength:
        args.values['max-length'] === undefined
          ? undefined
          : positiveInt('max-length', args.values['max-length'])
    }
    const report = await withSession(args, (s) => s.call('datasets.preflight', input))
    if (args.values.json) return io.out(JSON.stringify(report, null, 2))
    const counts = Object.entries(report.counts)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ')
    io.out(
      `checked ${report.checked} samples with ${report.model} at max length ${report.maxLength} ` +
        `(context ${report.contextLength}): ${counts}`
    )
    for (const problem of report.problems.slice(0, 50))
      io.out(`  sample ${problem.sampleId}: ${problem.kind}: ${problem.detail}`)
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
      description: 'messages, sharegpt or alpaca',
      default: 'messages'
    },
    overwrite: { type: 'boolean', description: 'replace OUT if it exists' },
    json: JSON_OPTION
  },
  async run(args, io) {
    if ((args.values.version === undefined) === (args.values.dataset === undefined)) {
      throw new UsageError('give exactly one of --version and --dataset')
    }
    const split =
      args.values.split === undefined
        ? undefined
        : oneOf('split', args.values.split, ['train', 'validation', 'test'] as const)
    const tags = args.values.tag as string[] | undefined
    const input = {
      ...(args.values.version !== undefined
        ? { versionId: positiveInt('version', args.values.version) }
        : { datasetId: positiveInt('dataset', args.values.dataset), filter: { split, tags } }),
      format: oneOf('format', args.values.format, ['messages', 'sharegpt', 'alpaca'] as const),
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

export const datasetCommands: Command[] = [
  datasetsListCommand,
  datasetsCreateCommand,
  datasetsShowCommand,
  datasetsSamplesCommand,
  datasetsPreviewCommand,
  datasetsImportCommand,
  datasetsCutCommand,
  datasetsSplitCommand,
  datasetsDuplicatesCommand,
  datasetsPreflightCommand,
  datasetsExportCommand
]
