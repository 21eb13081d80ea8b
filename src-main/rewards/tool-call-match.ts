/**
 * tool_call_match: ToolRL's reward for tool calls (Qian et al., "ToolRL: Reward is All Tool
 * Learning Needs", arXiv:2504.13958, §3), R = R_format + R_correct ∈ [−3, 4]:
 *
 * - R_format ∈ {0, 1}: the completion has its reasoning block and, when the gold calls tools, one
 *   tool-call block of JSON calls (none when the gold calls none), in that order;
 * - R_correct ∈ [−3, 3] compares the predicted calls P with the gold calls G:
 *   r_name = |names(P) ∩ names(G)| / |names(P) ∪ names(G)| (Jaccard of the tool-name sets; 1 when
 *   both are empty); for a gold call g matched with a predicted call p, r_param = Jaccard of their
 *   parameter names and r_value = the number of g's parameters whose value p gives exactly (equal
 *   JSON). R_max = r_name + the largest Σ (r_param + r_value) over one-to-one matchings of G with P,
 *   S_max = 1 + |G| + Σ_g |params(g)|, and R_correct = 6 · R_max / S_max − 3.
 *
 * A completion without parseable calls has P = ∅ (so R_correct = −3 when the gold calls tools):
 * the paper's value, kept rather than 0 because 0 would rank garbage above a wrong call.
 *
 * Calls are JSON objects `{"name": …, "parameters" | "arguments": {…}}`, one per line (or a JSON
 * array) inside `<tool_call>…</tool_call>`. The gold is the reference: the same block, or the calls
 * as a JSON array (or one object); `[]` means "call no tool".
 */
import { canonicalJson } from '../shared/canonical-json'
import { checkTagName, leadingBlock } from './format-check'
import { goldAnswer, REFERENCE_KEY_PARAM } from './gold'
import type { RewardFunction } from './types'

export interface ToolCall {
  name: string
  parameters: Readonly<Record<string, unknown>>
}

/** More predicted calls than this are not matched (the matching is exponential in their count). */
const MAX_PREDICTED_CALLS = 12

function toolCall(value: unknown): ToolCall | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null
  const { name, parameters, arguments: args } = value as Record<string, unknown>
  const params = parameters ?? args ?? {}
  if (typeof name !== 'string' || params === null || typeof params !== 'object' || Array.isArray(params))
    return null
  return { name, parameters: params as Record<string, unknown> }
}

/** Calls written as a JSON array, one JSON object, or one object per line; null when any part is not a call. */
export function parseToolCalls(text: string): ToolCall[] | null {
  const trimmed = text.trim()
  if (trimmed === '') return []
  let values: unknown[]
  try {
    const whole: unknown = JSON.parse(trimmed)
    values = Array.isArray(whole) ? whole : [whole]
  } catch {
    try {
      values = trimmed
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as unknown)
    } catch {
      return null
    }
  }
  const calls = values.map(toolCall)
  return calls.every((call) => call !== null) ? (calls as ToolCall[]) : null
}

/** The calls of a completion's tool-call block; [] where it has none; null where the block does not parse. */
function predictedCalls(completion: string, callTag: string): ToolCall[] | null {
  const open = completion.indexOf(`<${callTag}>`)
  if (open < 0) return []
  const block = leadingBlock(completion.slice(open), callTag)
  return 'missing' in block ? null : parseToolCalls(block.content)
}

/** The gold calls: a tool-call block in the reference, else the reference as JSON. */
function goldCalls(reference: string, callTag: string): ToolCall[] | null {
  return reference.includes(`<${callTag}>`) ? predictedCalls(reference, callTag) : parseToolCalls(reference)
}

/** R_format: the reasoning block first, then exactly one call block when (and only when) the gold calls tools. */
function formatReward(
  completion: string,
  thinkTag: string,
  callTag: string,
  goldCallsTools: boolean
): number {
  const think = leadingBlock(completion, thinkTag)
  if ('missing' in think) return 0
  const blocks = think.rest.split(`<${callTag}>`).length - 1
  if (!goldCallsTools) return blocks === 0 ? 1 : 0
  if (blocks !== 1) return 0
  return predictedCalls(think.rest, callTag)?.length ? 1 : 0
}

function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1
  let shared = 0
  for (const item of a) if (b.has(item)) shared++
  return shared / (a.size + b.size - shared)
}

/** r_param + r_value of gold call g answered by predicted call p. */
function pairScore(g: ToolCall, p: ToolCall): number {
  const goldKeys = Object.keys(g.parameters)
  const names = jaccard(new Set(goldKeys), new Set(Object.keys(p.parameters)))
  const values = goldKeys.filter(
    (key) => key in p.parameters && canonicalJson(p.parameters[key]) === canonicalJson(g.parameters[key])
  ).length
  return names + values
}

/** The best one-to-one matching's total pair score: dynamic programming over the set of used predictions. */
function bestMatching(gold: readonly ToolCall[], predicted: readonly ToolCall[]): number {
  const scores = gold.map((g) => predicted.map((p) => pairScore(g, p)))
  let best = new Map<number, number>([[0, 0]])
  for (let i = 0; i < gold.length; i++) {
    const next = new Map<number, number>()
    for (const [used, total] of best) {
      // A gold call may stay unmatched (more gold calls than predicted ones).
      if ((next.get(used) ?? -1) < total) next.set(used, total)
      for (let j = 0; j < predicted.length; j++) {
        if (used & (1 << j)) continue
        const key = used | (1 << j)
        const value = total + scores[i][j]
        if ((next.get(key) ?? -1) < value) next.set(key, value)
      }
    }
    best = next
  }
  return Math.max(...best.values())
}

/** ToolRL's R_correct ∈ [−3, 3]. */
export function correctnessReward(gold: readonly ToolCall[], predicted: readonly ToolCall[]): number {
  const names = jaccard(new Set(gold.map((c) => c.name)), new Set(predicted.map((c) => c.name)))
  const maxScore = 1 + gold.length + gold.reduce((sum, g) => sum + Object.keys(g.parameters).length, 0)
  return (6 * (names + bestMatching(gold, predicted))) / maxScore - 3
}

export const toolCallMatch: RewardFunction = {
  name: 'tool_call_match',
  title: 'Tool-call match (ToolRL)',
  description:
    'ToolRL’s reward in [−3, 4]: format (0/1: reasoning block, then one block of JSON tool calls when the ' +
    'gold calls tools) plus correctness in [−3, 3] from tool names, parameter names and exactly equal ' +
    'parameter values under the best matching of predicted to gold calls. No parseable calls: −3 + format.',
  paper: {
    title: 'ToolRL: Reward is All Tool Learning Needs',
    authors:
      'Cheng Qian, Emre Can Acikgoz, Qi He, Hongru Wang, Xiusi Chen, Dilek Hakkani-Tür, Gokhan Tur, Heng Ji',
    year: 2025,
    arxiv: '2504.13958',
    url: 'https://arxiv.org/abs/2504.13958'
  },
  params: [
    {
      name: 'think_tag',
      type: 'text',
      default: 'think',
      maxLength: 40,
      description: 'the reasoning block’s tag',
      check: checkTagName
    },
    {
      name: 'call_tag',
      type: 'text',
      default: 'tool_call',
      maxLength: 40,
      description: 'the tool-call block’s tag',
      check: checkTagName
    },
    REFERENCE_KEY_PARAM
  ],
  score(input, params) {
    const found = goldAnswer(input, params)
    if ('missing' in found) return { value: 0, reason: found.missing }
    const callTag = String(params.call_tag)
    const gold = goldCalls(found.gold, callTag)
    if (gold === null) return { value: 0, reason: 'the gold answer is not a list of tool calls' }
    const format = formatReward(input.completion, String(params.think_tag), callTag, gold.length > 0)
    const parsed = predictedCalls(input.completion, callTag)
    const predicted = parsed ?? []
    if (predicted.length > MAX_PREDICTED_CALLS) {
      return { value: format - 3, reason: `more than ${MAX_PREDICTED_CALLS} calls are not matched` }
    }
    const value = format + correctnessReward(gold, predicted)
    const reason = parsed === null ? 'the tool-call block is not JSON calls' : `format ${format}`
    return { value, reason }
  }
}
