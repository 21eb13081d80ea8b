import { writeTextFileAtomically } from '../../engine/checkpoint/atomic-write'
import type { EngineScoreInput, EngineScoreOutput } from '../../jobs/kinds/engine-score'
import { checkOutputFile } from '../../api/write-paths'
import { UsageError, type Command } from '../command'
import { storeDirFor } from '../session'
import { ENGINE_OPTIONS, engineJobInput, optionalNumber, runEngineJob } from './engine-job'

export const scoreCommand: Command = {
  words: ['score'],
  summary: 'Score rows with a model: the summed log-probability of each row’s labelled tokens.',
  details: [
    'Reads JSON Lines; each row is {"input_ids": [...], "labels": [...]} (label -100 = not scored;',
    'the label at t is predicted from the tokens before t), {"prompt", "completion"} (the completion',
    'is scored) or {"messages"} (the assistant turns are scored). Writes one JSON line per row, in',
    'order: {"logprob": <sum of log p over the labelled tokens>, "tokens": <their count>}.'
  ].join('\n'),
  options: {
    ...ENGINE_OPTIONS,
    data: { type: 'string', valueName: 'FILE', description: 'the rows to score (JSON Lines)' },
    out: { type: 'string', valueName: 'FILE', description: 'write the scores here instead of stdout' },
    overwrite: { type: 'boolean', description: 'replace OUT if it exists' },
    'batch-tokens': {
      type: 'string',
      valueName: 'N',
      description: 'padded tokens per batch (default: by vocabulary size)'
    }
  },
  async run(args, io) {
    const data = args.values.data
    if (typeof data !== 'string' || data === '') throw new UsageError('--data FILE is required')
    // Checked before scoring, so a refused path costs nothing.
    const out =
      typeof args.values.out === 'string' && args.values.out !== ''
        ? checkOutputFile('score', storeDirFor(args), args.values.out, {
            overwrite: args.values.overwrite === true,
            overwriteFlag: '--overwrite'
          })
        : null
    const input: EngineScoreInput = {
      ...engineJobInput(args),
      dataPath: data,
      batchTokens: optionalNumber(args, 'batch-tokens', { integer: true, min: 1 })
    }
    const { rows } = await runEngineJob<EngineScoreOutput>('engine.score', input)
    const lines = rows.map((row) => JSON.stringify({ logprob: row.logprob, tokens: row.tokens }))
    if (out !== null) {
      const text = lines.map((line) => `${line}\n`).join('')
      writeTextFileAtomically(out, text, { replace: args.values.overwrite === true })
    } else for (const line of lines) io.out(line)
  }
}
