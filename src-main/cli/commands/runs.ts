import { JSON_OPTION, UsageError, type Command } from '../command'
import { formatTable } from '../format'
import { withSession } from '../session'

export const runsListCommand: Command = {
  words: ['runs', 'list'],
  summary: 'List training runs, newest first.',
  options: {
    json: JSON_OPTION,
    limit: { type: 'string', valueName: 'N', description: 'at most N runs', default: '50' }
  },
  async run(args, io) {
    const rows = await withSession(args, (s) => s.call('runs.list', { limit: Number(args.values.limit) }))
    if (args.values.json) return io.out(JSON.stringify(rows, null, 2))
    if (rows.length === 0) return io.out('no runs yet')
    io.out(
      formatTable(rows, [
        { header: 'ID', value: (r) => r.id },
        { header: 'NAME', value: (r) => r.name },
        { header: 'RECIPE', value: (r) => r.recipe },
        { header: 'STATUS', value: (r) => r.status },
        { header: 'CREATED', value: (r) => r.createdAt },
        { header: 'ERROR', value: (r) => r.error ?? '' }
      ])
    )
  }
}

export const runsShowCommand: Command = {
  words: ['runs', 'show'],
  summary: 'Show one run: status, error, config and checkpoints.',
  positionals: [{ name: 'id', description: 'the run id' }],
  options: { json: JSON_OPTION },
  async run(args, io) {
    const id = Number(args.positionals[0])
    if (!Number.isInteger(id) || id <= 0)
      throw new UsageError(`runs show: ID must be a positive integer, got ${args.positionals[0]}`)
    const run = await withSession(args, (s) => s.call('runs.get', { id }))
    if (args.values.json) return io.out(JSON.stringify(run, null, 2))
    io.out(`run ${run.id}: ${run.name}`)
    io.out(`status:   ${run.status}${run.error ? ` — ${run.error}` : ''}`)
    io.out(`recipe:   ${run.recipe}`)
    io.out(`created:  ${run.createdAt}  started: ${run.startedAt ?? '-'}  finished: ${run.finishedAt ?? '-'}`)
    io.out(`config:   ${JSON.stringify(run.config)}`)
    for (const c of run.checkpoints) io.out(`checkpoint step ${c.step}: ${c.path}`)
  }
}
