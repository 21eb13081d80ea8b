/**
 * `finetune-studio rewards list` and `rewards score`: the reward functions, and a reward spec tried
 * on rows of completions before training with it. The registry is read and scored directly (as
 * rewards.list / rewards.score do), so no store is opened.
 */
import { readFileSync } from 'node:fs'
import type { z } from 'zod'
import {
  rewardRowSchema,
  rewardSpecSchema,
  type RewardInfo,
  type RewardRowScore
} from '../../../src-preload/contract'
import { rewardInfo } from '../../api/rewards'
import { readRecords } from '../../datasets/sources'
import { describeParam } from '../../recipes/params'
import { listRewards, RewardSpecError, scoreRows, type RewardInput } from '../../rewards'
import { JSON_OPTION, stringOption, UsageError, type Command } from '../command'
import { formatTable } from '../format'

/** One block per reward: name and title, what it scores, its paper, its parameters. */
function rewardListing(): string {
  const lines: string[] = []
  for (const reward of listRewards()) {
    lines.push(`${reward.name} — ${reward.title}`, `  ${reward.description}`)
    if (reward.paper)
      lines.push(`  ${reward.paper.authors.split(',')[0]} et al. (${reward.paper.year}), ${reward.paper.url}`)
    for (const param of reward.params)
      lines.push(`  ${param.name} (${describeParam(param)}): ${param.description}`)
    lines.push('')
  }
  return lines.join('\n').trimEnd()
}

function issuesText(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'row'}: ${issue.message}`).join('; ')
}

function readSpec(file: string): z.output<typeof rewardSpecSchema> {
  let value: unknown
  try {
    value = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new Error(`--spec ${file}: ${(error as Error).message}`)
  }
  const parsed = rewardSpecSchema.safeParse(value)
  if (!parsed.success) throw new Error(`--spec ${file}: ${issuesText(parsed.error)}`)
  return parsed.data
}

async function readRows(file: string): Promise<RewardInput[]> {
  const rows: RewardInput[] = []
  for await (const batch of readRecords(file, 'jsonl')) {
    for (const record of batch) {
      if ('error' in record) throw new Error(`${file}, line ${record.line}: ${record.error}`)
      const parsed = rewardRowSchema.safeParse(record.row)
      if (!parsed.success) {
        throw new Error(`${file}, line ${record.line}: ${issuesText(parsed.error)}`)
      }
      rows.push(parsed.data)
    }
  }
  if (rows.length === 0) throw new Error(`${file} has no rows`)
  return rows
}

/** Per row: its total, then a table of its terms. */
function scoreListing(scores: readonly RewardRowScore[]): string {
  return scores
    .map((score, i) =>
      [
        `row ${i + 1}: total ${formatValue(score.total)}`,
        formatTable(score.terms, [
          { header: '  REWARD', value: (t) => `  ${t.reward}` },
          { header: 'WEIGHT', value: (t) => formatValue(t.weight) },
          { header: 'VALUE', value: (t) => formatValue(t.value) },
          { header: 'REASON', value: (t) => t.reason ?? '' }
        ])
      ].join('\n')
    )
    .join('\n\n')
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(4)
}

export const rewardsListCommand: Command = {
  words: ['rewards', 'list'],
  summary: 'List the reward functions with what they score, their papers and parameters.',
  options: { json: JSON_OPTION },
  async run(args, io) {
    const rewards: RewardInfo[] = listRewards().map(rewardInfo)
    io.out(args.values.json ? JSON.stringify(rewards, null, 2) : rewardListing())
  }
}

export const rewardsScoreCommand: Command = {
  words: ['rewards', 'score'],
  summary: 'Score completions with a reward spec: per row, the total and each term.',
  details: [
    'The spec is JSON: {"terms": [{"reward": NAME, "weight": W, "params": {...}}]} (see `rewards list`).',
    'Rows are JSON Lines: {"prompt", "completion", "reference"?, "metadata"?, "completionTokens"?}.'
  ].join('\n'),
  options: {
    spec: stringOption('FILE', 'the reward spec (JSON)'),
    data: stringOption('FILE', 'the rows to score (JSON Lines)'),
    json: JSON_OPTION
  },
  async run(args, io) {
    const specFile = args.values.spec
    const dataFile = args.values.data
    if (typeof specFile !== 'string' || specFile === '') throw new UsageError('--spec FILE is required')
    if (typeof dataFile !== 'string' || dataFile === '') throw new UsageError('--data FILE is required')
    const spec = readSpec(specFile)
    const rows = await readRows(dataFile)
    let scores: RewardRowScore[]
    try {
      scores = await scoreRows(spec, rows)
    } catch (error) {
      if (error instanceof RewardSpecError) throw new Error(`--spec ${specFile}: ${error.message}`)
      throw error
    }
    io.out(args.values.json ? JSON.stringify(scores, null, 2) : scoreListing(scores))
  }
}
