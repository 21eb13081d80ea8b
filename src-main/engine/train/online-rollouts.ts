/**
 * Rollouts inside the training loop (GRPO on its own samples): each prompt of a micro-batch is
 * answered G times by the model as it is at that step — a LiveGenerator fed the step program's
 * current trainables (engine/infer/live-generation.ts) — the recipe scores the completions
 * (`rollouts.score`, its reward functions), and the prompts become the G rollout examples the loss
 * trains on: exactly the examples that rollout rows give (data.ts), prompt + completion with the
 * completion trained, carrying their reward and group.
 *
 * A prompt is what precedes an example's first trained token (the chat template's rendering up to
 * the generation prompt), and its gold response, the trained tokens, is the reference rewards may
 * compare against. Completions are cut to fit the run's maximum length. Each prompt's samplers are
 * seeded from (run seed, step, prompt's line), so a resumed run draws the same completions at the
 * same step from the same weights.
 *
 * A recipe may plan a group beyond sampling from the prompt (`RolloutGroupPlan`): a HINT, tokens
 * appended to the prompt and untrained like it (seele); PREFIXES, tokens some completions start
 * with and the model continues, trained with the completion (prefix-rft's off-policy prefix of the
 * demonstration); and the DEMONSTRATION ROW, the prompt's own row after the completions (chord's
 * expert row). The completions without a prefix come first, from one sampler call seeded as
 * without a plan, so a plan with neither prefixes nor hint generates exactly what no plan does;
 * each prefixed completion has its own call, seeded by its place in the group as well.
 */
import type { LiveGenerator, LiveWeights } from '../infer/live-generation'
import { Rng } from '../rng'
import { IGNORE_INDEX } from '../tokenizer/labels'
import type { TextTokenizer } from '../tokenizer/tokenizer'
import type { TrainingExample } from './data'
import { firstTrainedIndex } from './own-answers'

/** One prompt's completions as the recipe's reward functions see them. */
export interface RolloutGroupText {
  /** 1-based line of the prompt's row in the data file. */
  line: number
  prompt: string
  /** The row's gold response (its trained tokens), decoded. */
  reference: string
  /** The row's metadata (what reward functions may read: a requested name, a database path). */
  metadata: Readonly<Record<string, unknown>>
  completions: string[]
}

export interface OnlineRolloutOptions {
  groupSize: number
  temperature: number
  topP: number
  maxNewTokens: number
  /** The run's maximum sequence length: a completion is cut where prompt + completion reaches it. */
  maxSeqLen: number
  seed: number
  /** 1-based step the rollouts are for (seeds the samplers). */
  step: number
}

/** What one prompt's group holds besides completions sampled from the prompt (see the module comment). */
export interface RolloutGroupPlan {
  /** Tokens appended to the prompt as prompt: the model sees them, nothing trains on them. */
  hint?: readonly number[]
  /** One entry per prefixed completion, the last of the group: the tokens it starts with, trained. */
  prefixes?: readonly (readonly number[])[]
  /** The prompt's own row (its gold response trained) follows the completions as one more row. */
  demonstration?: boolean
}

/** A prompt as a plan sees it: its line and its gold response's token ids (the demonstration). */
export interface RolloutPrompt {
  line: number
  demonstration: readonly number[]
}

/** A group's rewards: the totals the loss trains on, and each term's values where there are terms. */
export interface GroupRewards {
  totals: number[]
  /** Per reward term (by a label unique in the spec), one value per completion. */
  terms?: Record<string, number[]>
}

export interface OnlineRollouts {
  /** groupSize examples per prompt, in prompt order; each group's rows are consecutive. */
  examples: TrainingExample[]
  groups: (RolloutGroupText & {
    rewards: number[]
    terms?: Record<string, number[]>
    /** The group's rows end with the prompt's demonstration row (it has no completion or reward). */
    demonstration?: true
  })[]
  generatedTokens: number
  /** Time spent generating (not scoring). */
  generationSeconds: number
  /** The sampling distributions' entropy summed over the generated tokens (samplingEntropy). */
  entropySum: number
}

/** Separates the online rollouts' seeds from the run seed's other users ("Onli"). */
const ONLINE_STREAM = 0x4f6e6c69

/**
 * Generates and scores groupSize completions for each prompt example, on `weights`. `score`
 * returns one reward per completion, in order (and each reward term's values, for the metrics);
 * `plan` says what each group holds besides completions sampled from the prompt.
 */
export async function onlineRollouts(
  generator: LiveGenerator,
  weights: LiveWeights,
  prompts: readonly TrainingExample[],
  tokenizer: TextTokenizer,
  options: OnlineRolloutOptions,
  score: (group: RolloutGroupText) => Promise<GroupRewards>,
  plan: (prompt: RolloutPrompt) => RolloutGroupPlan = () => ({})
): Promise<OnlineRollouts> {
  const result: OnlineRollouts = {
    examples: [],
    groups: [],
    generatedTokens: 0,
    generationSeconds: 0,
    entropySum: 0
  }
  const decode = (ids: readonly number[]) => tokenizer.decode([...ids], { skipSpecialTokens: true })
  for (const example of prompts) {
    const start = firstTrainedIndex(example)
    if (start < 1)
      throw new Error(
        `online rollouts: the example from line ${example.line} has no prompt before its response`
      )
    const demonstration = [...example.labels.subarray(start)].filter((label) => label !== IGNORE_INDEX)
    const groupPlan = plan({ line: example.line, demonstration })
    const promptIds = [...example.inputIds.subarray(0, start), ...(groupPlan.hint ?? [])]
    const completions = await sampleGroup(generator, weights, promptIds, example.line, groupPlan, {
      ...options,
      eosTokenIds: tokenizer.eos ? [tokenizer.eos.id] : undefined
    })
    result.generatedTokens += completions.generatedTokens
    result.generationSeconds += completions.seconds
    result.entropySum += completions.entropySum
    const group: RolloutGroupText = {
      line: example.line,
      prompt: decode(promptIds),
      reference: decode(demonstration),
      metadata: example.metadata ?? {},
      completions: completions.tokenIds.map(decode)
    }
    const { totals: rewards, terms } = await score(group)
    if (rewards.length !== options.groupSize || !rewards.every(Number.isFinite)) {
      throw new Error(
        `online rollouts: the rewards of line ${example.line} must be ${options.groupSize} finite numbers, got ${JSON.stringify(rewards)}`
      )
    }
    result.groups.push({
      ...group,
      rewards,
      ...(terms ? { terms } : {}),
      ...(groupPlan.demonstration ? { demonstration: true as const } : {})
    })
    completions.tokenIds.forEach((completionIds, row) => {
      result.examples.push(
        rolloutExample(promptIds, completionIds, example.line, {
          reward: rewards[row],
          group: `${example.line}@${options.step}`
        })
      )
    })
    if (groupPlan.demonstration) result.examples.push(example)
  }
  return result
}

/** A group's completions (a prefixed one starts with its prefix) and what generating them cost. */
interface SampledGroup {
  tokenIds: number[][]
  generatedTokens: number
  seconds: number
  entropySum: number
}

/**
 * groupSize completions of `promptIds`: first those sampled from the prompt alone, in one call,
 * then one call per prefix, each prefix cut so that at least one token is generated.
 */
async function sampleGroup(
  generator: LiveGenerator,
  weights: LiveWeights,
  promptIds: readonly number[],
  line: number,
  plan: RolloutGroupPlan,
  options: OnlineRolloutOptions & { eosTokenIds: number[] | undefined }
): Promise<SampledGroup> {
  const room = Math.min(options.maxNewTokens, options.maxSeqLen - promptIds.length)
  if (options.maxSeqLen - promptIds.length < 1) {
    throw new Error(
      `online rollouts: the prompt of line ${line} takes ${promptIds.length} tokens, the run's maximum length ${options.maxSeqLen}`
    )
  }
  const prefixes = plan.prefixes ?? []
  if (prefixes.length > options.groupSize) {
    throw new Error(
      `online rollouts: line ${line} has ${prefixes.length} prefixed completions planned, more than the group's ${options.groupSize}`
    )
  }
  const sampled: SampledGroup = { tokenIds: [], generatedTokens: 0, seconds: 0, entropySum: 0 }
  const sample = async (prefix: readonly number[], count: number, ...streams: number[]) => {
    const generated = await generator.rollouts([...promptIds, ...prefix], weights, {
      count,
      temperature: options.temperature,
      topP: options.topP,
      maxNewTokens: room - prefix.length,
      seed: Rng.fromSeed(options.seed, ONLINE_STREAM, options.step, line, ...streams).nextUint32(),
      eosTokenIds: options.eosTokenIds
    })
    sampled.generatedTokens += generated.generatedTokens
    sampled.seconds += generated.seconds
    sampled.entropySum += generated.entropySum
    for (const completion of generated.completions) sampled.tokenIds.push([...prefix, ...completion.tokenIds])
  }
  const unprefixed = options.groupSize - prefixes.length
  if (unprefixed > 0) await sample([], unprefixed)
  for (const [i, prefix] of prefixes.entries()) await sample(prefix.slice(0, room - 1), 1, i + 1)
  return sampled
}

/** Prompt + completion, the completion trained (as data.ts makes a rollout row's example). */
function rolloutExample(
  promptIds: readonly number[],
  completionIds: readonly number[],
  line: number,
  rollout: { reward: number; group: string }
): TrainingExample {
  const inputIds = Int32Array.from([...promptIds, ...completionIds])
  const labels = Int32Array.from(inputIds, (id, t) => (t < promptIds.length ? IGNORE_INDEX : id))
  const weights = Float32Array.from(labels, (label) => (label === IGNORE_INDEX ? 0 : 1))
  return { line, inputIds, labels, weights, rollout }
}
