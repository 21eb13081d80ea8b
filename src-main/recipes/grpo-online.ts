/**
 * grpo on its own samples (the run's data are prompts, not rollouts): the `rewards` parameter holds
 * a reward spec (src-main/rewards/, `{"terms": [{"reward", "weight", "params"}]}`), and before each
 * step the model as it is then answers every prompt group_size times (engine/train/online-rollouts.ts);
 * each completion's reward is the spec's weighted total. The loss is the same as on given rollouts.
 *
 * Each prompt row becomes group_size copies of itself (`promptCopies`), so the batch plan, the
 * grouping and the step count are those of rollout data with one group per prompt; the copies are
 * replaced by the generated completions before the step. dynamic_sampling needs every group's
 * rewards before the batch is made, so it is for given rollouts only.
 */
import type { TrainingData } from '../engine/train/data'
import type { OnlineRolloutHook } from '../engine/train/run-hooks'
import type { GroupRewards, RolloutGroupText } from '../engine/train/online-rollouts'
import {
  listRewards,
  resolveRewardSpec,
  RewardSession,
  scoreWithSpec,
  type ResolvedRewardTerm,
  type RewardSpec
} from '../rewards/index'
import type { GrpoParams } from './grpo'
import { checkIterations } from './grpo-rollouts'

/** Whether a run of these parameters generates its rollouts. */
export function generatesRollouts(params: Pick<GrpoParams, 'rewards'>): boolean {
  return params.rewards.trim() !== ''
}

/**
 * The `rewards` parameter as a spec, checked as far as can be without running anything (each
 * term's parameters are checked by the rewards registry when the run first scores).
 */
export function parseRewardSpec(source: string): RewardSpec {
  let value: unknown
  try {
    value = JSON.parse(source)
  } catch (error) {
    throw new Error(`must be a reward spec in JSON, {"terms": [...]}: ${(error as Error).message}`)
  }
  const terms = (value as { terms?: unknown } | null)?.terms
  if (!Array.isArray(terms) || terms.length === 0) {
    throw new Error(
      'must be a reward spec {"terms": [{"reward", "weight", "params"?}, ...]} with at least one term'
    )
  }
  const known = new Set(listRewards().map((reward) => reward.name))
  terms.forEach((term: { reward?: unknown; weight?: unknown }, i) => {
    if (typeof term?.reward !== 'string' || !known.has(term.reward)) {
      throw new Error(
        `term ${i}: unknown reward ${JSON.stringify(term?.reward)}; known: ${[...known].join(', ')}`
      )
    }
    if (typeof term.weight !== 'number' || !Number.isFinite(term.weight)) {
      throw new Error(`term ${i} (${term.reward}): weight must be a finite number`)
    }
  })
  return value as RewardSpec
}

/** Each prompt row as group_size copies of itself, one group per prompt. */
export function promptCopies(
  data: TrainingData,
  params: Pick<GrpoParams, 'group_size' | 'dynamic_sampling' | 'num_iterations'>
): TrainingData {
  checkIterations(params)
  if (params.dynamic_sampling) {
    throw new Error(
      'grpo: dynamic_sampling leaves out groups whose given rewards are all equal; with rewards computed ' +
        'during training it is not available (turn it off)'
    )
  }
  const examples = data.examples.flatMap((example) => {
    if (example.rollout) {
      throw new Error(
        `grpo: line ${example.line} is a rollout row, but the rewards parameter asks for generating rollouts from prompts; give one or the other`
      )
    }
    return Array.from({ length: params.group_size }, () => example)
  })
  return { ...data, examples }
}

/** Resolved specs by their text: a run scores with one spec at every step. */
const resolvedSpecs = new Map<string, Promise<ResolvedRewardTerm[]>>()

/** The spec's terms as metric labels: the reward's name, numbered when a reward appears twice. */
function termLabels(terms: readonly ResolvedRewardTerm[]): string[] {
  return terms.map((term) => {
    const same = terms.filter((other) => other.reward.name === term.reward.name)
    return same.length > 1 ? `${term.reward.name}_${same.indexOf(term) + 1}` : term.reward.name
  })
}

async function rewardsOf(group: RolloutGroupText, source: string): Promise<GroupRewards> {
  let terms = resolvedSpecs.get(source)
  if (!terms) {
    terms = resolveRewardSpec(parseRewardSpec(source))
    resolvedSpecs.set(source, terms)
    terms.catch(() => resolvedSpecs.delete(source))
  }
  const resolved = await terms
  const labels = termLabels(resolved)
  const session = new RewardSession()
  try {
    const totals: number[] = []
    const values: Record<string, number[]> = Object.fromEntries(labels.map((label) => [label, []]))
    for (const completion of group.completions) {
      const input = { prompt: group.prompt, completion, reference: group.reference, metadata: group.metadata }
      const score = await scoreWithSpec(resolved, input, session)
      totals.push(score.total)
      score.terms.forEach((term, i) => values[labels[i]].push(term.value))
    }
    return { totals, terms: values }
  } finally {
    session.close()
  }
}

export const grpoRollouts: OnlineRolloutHook<GrpoParams> = {
  stage: 'before-step',
  online: generatesRollouts,
  sampling: (params) => ({
    groupSize: params.group_size,
    temperature: params.temperature,
    topP: params.top_p,
    maxNewTokens: params.max_completion_length
  }),
  score: (group, params) => rewardsOf(group, params.rewards)
}
