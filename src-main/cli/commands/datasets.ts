import { JSON_OPTION, type Command } from '../command'
import { formatTable } from '../format'
import { withSession } from '../session'

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
