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
import type { OnlineRolloutHook, RecipeState, RecipeStepReport } from '../engine/train/run-hooks'
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
  params: Pick<GrpoParams, 'group_size' | 'dynamic_sampling'>
): TrainingData {
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

/**
 * Entropy-targeted temperature (target_entropy > 0). AceReason-Nemotron 1.1 (Liu et al. 2025,
 * arXiv:2506.13284) finds RL works best with the sampling temperature chosen so that the
 * temperature-adjusted entropy of the rollouts stays around 0.3, and sets it per training stage.
 * Here the temperature follows that entropy step by step, a choice of ours: after each step,
 * T ← T · exp(TEMPERATURE_GAIN · (target − H)), kept within TEMPERATURE_BOUNDS, where H is the mean
 * entropy of the step's sampling distributions (rollout/entropy). The temperature is the recipe
 * state, saved in checkpoints, so a resumed run samples as the uninterrupted one did.
 */
const TEMPERATURE_GAIN = 1
const TEMPERATURE_BOUNDS = [0.05, 2] as const

function stateTemperature(state: RecipeState, params: Pick<GrpoParams, 'temperature'>): number {
  const value = (state as { temperature?: unknown } | null)?.temperature
  return typeof value === 'number' ? value : params.temperature
}

/** The temperature for the next step, from the entropy the last step's rollouts had. */
export function nextTemperature(temperature: number, entropy: number, target: number): number {
  const [low, high] = TEMPERATURE_BOUNDS
  return Math.min(high, Math.max(low, temperature * Math.exp(TEMPERATURE_GAIN * (target - entropy))))
}

export const grpoRollouts: OnlineRolloutHook<GrpoParams> = {
  stage: 'before-step',
  online: generatesRollouts,
  sampling: (params, state) => ({
    groupSize: params.group_size,
    temperature: stateTemperature(state, params),
    topP: params.top_p,
    maxNewTokens: params.max_completion_length
  }),
  score: (group, params) => rewardsOf(group, params.rewards)
}

/** grpo's recipe state: the sampling temperature, when it targets an entropy (else none). */
export function grpoInitialState(params: GrpoParams): RecipeState {
  return generatesRollouts(params) && params.target_entropy > 0 ? { temperature: params.temperature } : null
}

export function grpoUpdateState(
  state: RecipeState,
  report: RecipeStepReport,
  params: GrpoParams
): RecipeState {
  if (state === null) return null
  const entropy = report.result.metrics['rollout/entropy']
  if (!Number.isFinite(entropy)) return state
  return { temperature: nextTemperature(stateTemperature(state, params), entropy, params.target_entropy) }
}
