/**
 * The dataset commands: list, create, show, search and curate datasets. The ones that read or
 * write files (preview, import, export) are in datasets-files.ts.
 */
import { SPLITS } from '../../datasets/splits'
import { JSON_OPTION, UsageError, type Command } from '../command'
import { formatTable } from '../format'
import { datasetIdArg, integerAtLeast, oneOf, positiveInt } from '../option-values'
import { withSession } from '../session'
import { datasetsExportCommand, datasetsImportCommand, datasetsPreviewCommand } from './datasets-files'

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
      ...(args.values.split !== undefined ? { split: oneOf('split', args.values.split, SPLITS) } : {}),
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
  summary:
    'List samples whose content, reasoning or tool calls the chat template leaves out, or that render empty, exceed the maximum length or have nothing to train on.',
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
