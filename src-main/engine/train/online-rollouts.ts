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

/** A group's rewards: the totals the loss trains on, and each term's values where there are terms. */
export interface GroupRewards {
  totals: number[]
  /** Per reward term (by a label unique in the spec), one value per completion. */
  terms?: Record<string, number[]>
}

export interface OnlineRollouts {
  /** groupSize examples per prompt, in prompt order; each group's rows are consecutive. */
  examples: TrainingExample[]
  groups: (RolloutGroupText & { rewards: number[]; terms?: Record<string, number[]> })[]
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
 * returns one reward per completion, in order (and each reward term's values, for the metrics).
 */
export async function onlineRollouts(
  generator: LiveGenerator,
  weights: LiveWeights,
  prompts: readonly TrainingExample[],
  tokenizer: TextTokenizer,
  options: OnlineRolloutOptions,
  score: (group: RolloutGroupText) => Promise<GroupRewards>
): Promise<OnlineRollouts> {
  const result: OnlineRollouts = {
    examples: [],
    groups: [],
    generatedTokens: 0,
    generationSeconds: 0,
    entropySum: 0
  }
  for (const example of prompts) {
    const start = firstTrainedIndex(example)
    if (start < 1)
      throw new Error(
        `online rollouts: the example from line ${example.line} has no prompt before its response`
      )
    const promptIds = [...example.inputIds.subarray(0, start)]
    const room = options.maxSeqLen - promptIds.length
    if (room < 1) {
      throw new Error(
        `online rollouts: the prompt of line ${example.line} takes ${promptIds.length} tokens, the run's maximum length ${options.maxSeqLen}`
      )
    }
    const generated = await generator.rollouts(promptIds, weights, {
      count: options.groupSize,
      temperature: options.temperature,
      topP: options.topP,
      maxNewTokens: Math.min(options.maxNewTokens, room),
      seed: Rng.fromSeed(options.seed, ONLINE_STREAM, options.step, example.line).nextUint32(),
      eosTokenIds: tokenizer.eos ? [tokenizer.eos.id] : undefined
    })
    result.generatedTokens += generated.generatedTokens
    result.generationSeconds += generated.seconds
    result.entropySum += generated.entropySum
    const decode = (ids: readonly number[]) => tokenizer.decode([...ids], { skipSpecialTokens: true })
    const group: RolloutGroupText = {
      line: example.line,
      prompt: decode(promptIds),
      reference: decode([...example.labels.subarray(start)].filter((label) => label !== IGNORE_INDEX)),
      metadata: example.metadata ?? {},
      completions: generated.completions.map((completion) => decode(completion.tokenIds))
    }
    const { totals: rewards, terms } = await score(group)
    if (rewards.length !== options.groupSize || !rewards.every(Number.isFinite)) {
      throw new Error(
        `online rollouts: the rewards of line ${example.line} must be ${options.groupSize} finite numbers, got ${JSON.stringify(rewards)}`
      )
    }
    result.groups.push({ ...group, rewards, ...(terms ? { terms } : {}) })
    generated.completions.forEach((completion, row) => {
      result.examples.push(
        rolloutExample(promptIds, completion.tokenIds, example.line, {
          reward: rewards[row],
          group: `${example.line}@${options.step}`
        })
      )
    })
  }
  return result
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
