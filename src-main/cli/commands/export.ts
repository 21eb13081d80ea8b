/**
 * `finetune-studio export`: a registered base model, a completed run's result or a checkpoint
 * written for other tools, through exports.start (so it is recorded in the store with its lineage),
 * waiting for the job with its progress on stderr. `exports list` and `exports delete` beside it.
 */
import { resolve } from 'node:path'
import type { ExportRecord } from '../../../src-preload/contract'
import { flagOption, JSON_OPTION, stringOption, UsageError, type Command } from '../command'
import { formatTable } from '../format'
import { withSession, type CliSession } from '../session'

function positiveId(flag: string, raw: unknown): number {
  const value = Number(raw)
  if (typeof raw !== 'string' || !/^[1-9][0-9]*$/.test(raw) || !Number.isSafeInteger(value)) {
    throw new UsageError(`--${flag} must be an id (a whole number ≥ 1), got ${String(raw)}`)
  }
  return value
}

/** Exactly one of --model DIR (registered), --run N and --checkpoint ID, as exports.start's source. */
async function sourceOf(
  s: CliSession,
  values: Record<string, unknown>
): Promise<{ baseModelId: number } | { runId: number } | { checkpointId: number }> {
  const given = ['model', 'run', 'checkpoint'].filter((flag) => values[flag] !== undefined)
  if (given.length !== 1) throw new UsageError('give exactly one of --model DIR, --run N and --checkpoint ID')
  if (values.run !== undefined) return { runId: positiveId('run', values.run) }
  if (values.checkpoint !== undefined) return { checkpointId: positiveId('checkpoint', values.checkpoint) }
  const dir = resolve(String(values.model))
  const model = (await s.call('models.list', {})).find((m) => resolve(m.path) === dir)
  if (!model) {
    throw new UsageError(
      `--model ${dir}: not a registered model; register it first (finetune-studio models register ${dir})`
    )
  }
  return { baseModelId: model.id }
}

function describeExport(record: ExportRecord): string {
  const what = [record.format, record.variant].filter(Boolean).join(' ')
  return `export ${record.id}: ${what} of ${record.sourceLabel} → ${record.path}`
}

export const exportCommand: Command = {
  words: ['export'],
  summary: 'Export a model, a run or a checkpoint as a PEFT adapter, a merged HF folder or GGUF.',
  details: [
    'The export is recorded in the store with what it came from (finetune-studio exports list).',
    'Without --out it is written into the store (<store>/exports/<id>/); --out names a folder',
    '(peft, hf) or a .gguf file outside the store. A GGUF file gets an Ollama Modelfile beside it.'
  ].join('\n'),
  options: {
    model: stringOption('DIR', 'a registered base model folder'),
    run: stringOption('N', "a completed run's result (its adapter or model)"),
    checkpoint: stringOption('ID', 'a training checkpoint (ids: finetune-studio runs show N)'),
    format: stringOption('peft|hf|gguf', 'what to write', { default: 'hf' }),
    dtype: stringOption('float32|float16|bfloat16', 'hf: the weights dtype', { default: 'float16' }),
    type: stringOption('F32|F16|Q8_0|Q4_0|Q4_K_M', 'gguf: the tensor type', { default: 'F16' }),
    out: stringOption('PATH', 'write here instead of into the store'),
    overwrite: flagOption('replace what is at --out'),
    json: JSON_OPTION
  },
  async run(args, io) {
    const record = await withSession(args, async (s) => {
      const started = await s.call('exports.start', {
        ...(await sourceOf(s, args.values)),
        format: args.values.format,
        dtype: args.values.dtype,
        ggufType: args.values.type,
        path: args.values.out,
        overwrite: args.values.overwrite === true
      })
      const stopListening = s.ctx.events.subscribe((event, payload) => {
        if (event === 'job.progress' && 'done' in payload && payload.jobId === started.jobId) {
          const percent = payload.total > 0 ? Math.floor((100 * payload.done) / payload.total) : 0
          if (process.stderr.isTTY) process.stderr.write(`\r${payload.message} ${percent}%`)
        }
      })
      const job = await s.ctx.jobs.wait(started.jobId)
      stopListening()
      if (process.stderr.isTTY) process.stderr.write('\n')
      if (job.status !== 'completed') throw new Error(`export: ${job.error ?? job.status}`)
      return s.ctx.store.exports.get(started.export.id)!
    })
    io.out(args.values.json ? JSON.stringify(record, null, 2) : describeExport(record))
  }
}

export const exportsListCommand: Command = {
  words: ['exports', 'list'],
  summary: 'List exports with what they came from.',
  options: {
    run: stringOption('N', 'only the exports of this run'),
    json: JSON_OPTION
  },
  async run(args, io) {
    const filter = args.values.run === undefined ? {} : { runId: positiveId('run', args.values.run) }
    const rows = await withSession(args, (s) => s.call('exports.list', filter))
    if (args.values.json) return io.out(JSON.stringify(rows, null, 2))
    if (rows.length === 0) return io.out('no exports yet (finetune-studio export --help)')
    io.out(
      formatTable(rows, [
        { header: 'ID', value: (e) => e.id },
        { header: 'SOURCE', value: (e) => e.sourceLabel },
        { header: 'FORMAT', value: (e) => [e.format, e.variant].filter(Boolean).join(' ') },
        { header: 'STATUS', value: (e) => e.status },
        { header: 'BYTES', value: (e) => e.bytes ?? '' },
        { header: 'PATH', value: (e) => e.path }
      ])
    )
  }
}

export const exportsDeleteCommand: Command = {
  words: ['exports', 'delete'],
  summary: 'Forget an export; its files go too when they are in the store.',
  positionals: [{ name: 'id', description: 'the export' }],
  async run(args, io) {
    const id = positiveId('id', args.positionals[0])
    const result = await withSession(args, (s) => s.call('exports.delete', { id }))
    io.out(
      `deleted export ${id}${result.filesRemoved ? ' and its files' : ' (its files were left where they are)'}`
    )
  }
}
