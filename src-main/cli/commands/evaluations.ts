import { JSON_OPTION, type Command } from '../command'
import { formatTable } from '../format'
import { withSession } from '../session'

export const evaluationsListCommand: Command = {
  words: ['evaluations', 'list'],
  summary: 'List evaluations, newest first.',
  options: { json: JSON_OPTION },
  async run(args, io) {
    const rows = await withSession(args, (s) => s.call('evaluations.list', {}))
    if (args.values.json) return io.out(JSON.stringify(rows, null, 2))
    if (rows.length === 0) return io.out('no evaluations yet')
    io.out(
      formatTable(rows, [
        { header: 'ID', value: (e) => e.id },
        { header: 'NAME', value: (e) => e.name },
        { header: 'BENCHMARK', value: (e) => e.benchmark },
        {
          header: 'METRICS',
          value: (e) =>
            Object.entries(e.metrics)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')
        },
        { header: 'CREATED', value: (e) => e.createdAt }
      ])
    )
  }
}
