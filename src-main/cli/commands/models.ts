import type { ModelSummary } from '../../../src-preload/contract'
import { JSON_OPTION, type Command } from '../command'
import { formatCount, formatTable } from '../format'
import { withSession } from '../session'

export const modelsListCommand: Command = {
  words: ['models', 'list'],
  summary: 'List registered base models.',
  options: { json: JSON_OPTION },
  async run(args, io) {
    const rows = await withSession(args, (s) => s.call('models.list', {}))
    if (args.values.json) return io.out(JSON.stringify(rows, null, 2))
    if (rows.length === 0) return io.out('no models registered yet (finetune-studio models register DIR)')
    io.out(
      formatTable(rows, [
        { header: 'ID', value: (m) => m.id },
        { header: 'NAME', value: (m) => m.name },
        { header: 'ARCHITECTURE', value: (m) => m.architecture },
        { header: 'PARAMS', value: (m) => formatCount(m.parameterCount) },
        { header: 'DTYPE', value: (m) => m.dtype },
        { header: 'HASH', value: (m) => m.contentHash.slice(0, 12) },
        { header: 'PATH', value: (m) => m.path }
      ])
    )
  }
}

export const modelsRegisterCommand: Command = {
  words: ['models', 'register'],
  summary: 'Register an HF model folder (config.json + safetensors) as a base model.',
  positionals: [{ name: 'dir', description: 'the model folder' }],
  options: {
    name: { type: 'string', valueName: 'NAME', description: 'display name (default: folder name)' },
    json: JSON_OPTION
  },
  async run(args, io) {
    const model = await withSession(args, async (s) => {
      const { jobId } = await s.call('models.register', { path: args.positionals[0], name: args.values.name })
      const stopListening = s.ctx.events.subscribe((event, payload) => {
        if (event === 'job.progress' && 'done' in payload && payload.jobId === jobId) {
          const percent = payload.total > 0 ? Math.floor((100 * payload.done) / payload.total) : 0
          if (process.stderr.isTTY) process.stderr.write(`\r${payload.message} ${percent}%`)
        }
      })
      const job = await s.ctx.jobs.wait(jobId)
      stopListening()
      if (process.stderr.isTTY) process.stderr.write('\n')
      if (job.status !== 'completed') throw new Error(`models register: ${job.error ?? job.status}`)
      return job.result as ModelSummary
    })
    if (args.values.json) return io.out(JSON.stringify(model, null, 2))
    io.out(
      `registered model ${model.id}: ${model.name} (${model.architecture}, ${formatCount(model.parameterCount)} parameters, ${model.dtype})`
    )
  }
}
