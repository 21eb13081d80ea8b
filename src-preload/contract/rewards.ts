/**
 * Reward functions for reinforcement learning with verifiable rewards: what each scores (declared in
 * src-main/rewards) and scoring completions with a weighted spec of them, so a user can test a
 * spec on a few rows before training with it.
 */
import { z } from 'zod'
import type { GenerateFinishReason } from './models'
import type { RecipeParamInfo } from './recipes'
import { call, id, noInput } from './shared'

export interface RewardInfo {
  name: string
  title: string
  /** What it scores and its range. */
  description: string
  paper: { title: string; authors: string; year: number; arxiv?: string; url: string } | null
  params: RecipeParamInfo[]
}

/** One weighted term of a spec; parameters are checked against the reward's declaration in main. */
const rewardTerm = z
  .object({
    reward: z.string().min(1).max(100),
    weight: z.number().finite(),
    params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({})
  })
  .strict()

export const rewardSpecSchema = z.object({ terms: z.array(rewardTerm).min(1).max(32) }).strict()
export type RewardSpecInput = z.input<typeof rewardSpecSchema>

/** A completion to score, with its prompt, the gold answer (if any) and the row's other fields. */
export const rewardRowSchema = z
  .object({
    prompt: z.string().max(1_000_000),
    completion: z.string().max(1_000_000),
    reference: z.string().max(1_000_000).nullable().default(null),
    metadata: z.record(z.string(), z.unknown()).default({}),
    /** The completion's length in tokens, when the caller counted it (length_penalty reads it). */
    completionTokens: z.number().int().min(0).optional()
  })
  .strict()

export interface RewardTermScore {
  reward: string
  weight: number
  value: number
  /** Why the value is what it is (a failure, the unit a length was read in). */
  reason?: string
}

export interface RewardRowScore {
  /** Σ weight · value over the terms. */
  total: number
  terms: RewardTermScore[]
}

/** One sampled answer to a test prompt, with its score under the spec. */
export interface RewardTestCompletion {
  text: string
  /** Generated tokens, a stopping end-of-sequence token not counted (what length_penalty reads). */
  tokenCount: number
  finishReason: GenerateFinishReason
  /** Σ weight · value over the terms. */
  total: number
  /** One per spec term, in the spec's order. */
  terms: RewardTermScore[]
}

/** A train sample's prompt, as the model was asked it, with its completions. */
export interface RewardTestPrompt {
  /** The sample's position in the dataset version. */
  position: number
  sampleId: number | null
  /** The prompt as rendered by the chat template (special tokens left out), as rewards see it. */
  prompt: string
  /** The sample's gold response (its assistant turns after the last user turn), or null without one. */
  reference: string | null
  completions: RewardTestCompletion[]
}

/** A train sample the test passed over, and why. */
export interface RewardTestSkip {
  position: number
  sampleId: number | null
  reason: 'raw_text' | 'no_user_turn'
}

/** One spec term's mean value over every completion tested. */
export interface RewardTermMean {
  reward: string
  weight: number
  mean: number
}

export interface RewardTestResult {
  /** The job that generated and scored ("rewards.test"; its job.progress counted completions). */
  jobId: string
  prompts: RewardTestPrompt[]
  /** Samples passed over before the prompts were found (at most MAX_REWARD_TEST_SKIPS listed). */
  skipped: RewardTestSkip[]
  skippedCount: number
  /** Means over every completion scored; 0 when none was. */
  meanTotal: number
  meanTerms: RewardTermMean[]
  /** Stopped by jobs.cancel: the prompts hold the completions scored before it. */
  cancelled: boolean
}

/** How many skipped samples a test result lists by name; the count covers the rest. */
export const MAX_REWARD_TEST_SKIPS = 20

const rewardTestInput = z
  .object({
    baseModelId: id.optional(),
    /** A run's training checkpoint instead of a base model (e.g. the SFT run a GRPO run will start from). */
    checkpointId: id.optional(),
    datasetVersionId: id,
    spec: rewardSpecSchema,
    /** The first this many train samples with a user turn are the prompts. */
    prompts: z.number().int().min(1).max(20).default(5),
    completions: z.number().int().min(1).max(8).default(2),
    /** 0 = greedy (every completion of a prompt the same). */
    temperature: z.number().min(0).max(5).default(1),
    topP: z.number().gt(0).max(1).default(1),
    maxNewTokens: z.number().int().min(1).max(4096).default(64),
    seed: z.number().int().min(0).default(0),
    /** Chosen by the client and echoed in a job.output event naming the job, so it can cancel it. */
    requestId: z.string().min(1).max(100).optional()
  })
  .strict()
  .refine((v) => (v.baseModelId === undefined) !== (v.checkpointId === undefined), {
    message: 'give exactly one of baseModelId and checkpointId'
  })

export const rewardCalls = {
  'rewards.list': call<RewardInfo[]>()(
    'Every reward function: what it scores and its range, its paper, its parameters with defaults.',
    noInput
  ),
  'rewards.score': call<RewardRowScore[]>()(
    'Scores completions with a reward spec (weighted terms): per row, the total and each term’s value and reason.',
    z.object({ spec: rewardSpecSchema, rows: z.array(rewardRowSchema).min(1).max(1000) }).strict()
  ),
  'rewards.test': call<RewardTestResult>()(
    'Tries a reward spec before training (job "rewards.test"): samples completions of the first train ' +
      'prompts of a dataset version with a model (seeded) and scores each, every term’s value and reason ' +
      'kept, with the means. job.progress counts completions; jobs.cancel stops it with what was scored.',
    rewardTestInput
  )
} as const
