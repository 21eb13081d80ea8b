/**
 * grpo's rows (loss-hook.ts `groupRows`): the rollout rows of the data (data.ts), checked as groups
 * of group_size consecutive rows that share a prompt, and with dynamic_sampling the groups whose
 * rewards are all equal left out, each of their rows reported as dropped with why.
 */
import type { DroppedRow, TrainingData, TrainingExample } from '../engine/train/data'
import { IGNORE_INDEX } from '../engine/tokenizer/labels'
import type { GrpoParams } from './grpo'

export const ROLLOUT_ROW_FORM = '{"prompt_ids", "completion_ids", "reward", "group"}'

/** The data's rollouts in whole groups; throws naming the line of the first row that does not fit. */
export function groupRollouts(data: TrainingData, params: GrpoParams): TrainingData {
  const examples: TrainingExample[] = []
  const dropped: DroppedRow[] = [...data.dropped]
  for (const group of consecutiveGroups(data.examples)) {
    checkGroup(group, data, params)
    const rewards = group.map((example) => example.rollout!.reward)
    if (params.dynamic_sampling && rewards.every((reward) => reward === rewards[0])) {
      const reason =
        `dynamic sampling: every completion of group ${JSON.stringify(group[0].rollout!.group)} has reward ` +
        `${rewards[0]}, so none has an advantage`
      dropped.push(...group.map((example) => ({ line: example.line, reason })))
    } else examples.push(...group)
  }
  return { ...data, examples, dropped: dropped.sort((a, b) => a.line - b.line) }
}

/** The examples cut where the group id changes; a row that is not a rollout is refused. */
function consecutiveGroups(examples: readonly TrainingExample[]): TrainingExample[][] {
  const groups: TrainingExample[][] = []
  const seen = new Map<string | number, number>()
  for (const example of examples) {
    if (!example.rollout) {
      throw new Error(
        `grpo: line ${example.line} is not a rollout row; grpo trains on rows ${ROLLOUT_ROW_FORM} ` +
          '(train --rollouts FILE)'
      )
    }
    const { group } = example.rollout
    const current = groups.at(-1)
    if (current && current[0].rollout!.group === group) {
      current.push(example)
      continue
    }
    const earlier = seen.get(group)
    if (earlier !== undefined) {
      throw new Error(
        `grpo: line ${example.line}: group ${JSON.stringify(group)} began at line ${earlier} and another ` +
          'group came between; the rows of a group must be consecutive'
      )
    }
    seen.set(group, example.line)
    groups.push([example])
  }
  return groups
}

function checkGroup(group: readonly TrainingExample[], data: TrainingData, params: GrpoParams): void {
  const [first] = group
  const id = JSON.stringify(first.rollout!.group)
  if (group.length !== params.group_size) {
    throw new Error(
      `grpo: line ${first.line}: group ${id} has ${group.length} rows, group_size is ${params.group_size}` +
        droppedWithin(group, data)
    )
  }
  const prompt = promptOf(first)
  for (const example of group) {
    if (promptOf(example) !== prompt) {
      throw new Error(
        `grpo: line ${example.line}: its prompt_ids differ from those of line ${first.line}, the first row ` +
          `of group ${id}; the rows of a group share a prompt`
      )
    }
    const length = example.labels.filter((label) => label !== IGNORE_INDEX).length
    if (length > params.max_completion_length) {
      throw new Error(
        `grpo: line ${example.line}: the completion has ${length} tokens, more than max_completion_length ` +
          `${params.max_completion_length}`
      )
    }
  }
}

/** The input ids before the first trained token, as a key. */
function promptOf(example: TrainingExample): string {
  const start = example.labels.findIndex((label) => label !== IGNORE_INDEX)
  return example.inputIds.slice(0, start).join(',')
}

/** Why a group may be short: a row dropped while reading (no trained token left) next to it. */
function droppedWithin(group: readonly TrainingExample[], data: TrainingData): string {
  const [first, last] = [group[0].line, group.at(-1)!.line]
  const before = data.examples.findLast((example) => example.line < first)?.line ?? 0
  const after = data.examples.find((example) => example.line > last)?.line ?? Infinity
  const lost = data.dropped.find((row) => row.line > before && row.line < after)
  return lost ? ` (line ${lost.line} was dropped while reading: ${lost.reason})` : ''
}
