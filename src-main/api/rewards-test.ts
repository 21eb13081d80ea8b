/**
 * rewards.test: the prompts are chosen here from the dataset version's train samples (a sample
 * without a user turn, or a raw text, has no prompt to answer and is passed over with a note), the
 * spec is checked here so a bad term is refused before a model loads, and the "rewards.test" job
 * generates and scores (jobs/kinds/rewards-test.ts).
 */
import type {
  ParsedInput,
  RewardTermMean,
  RewardTestPrompt,
  RewardTestResult,
  RewardTestSkip,
  VersionSampleRow
} from '../../src-preload/contract'
import { MAX_REWARD_TEST_SKIPS } from '../../src-preload/contract'
import type { ChatMessage } from '../engine/tokenizer/chat-template'
import { completionStart } from '../datasets/normalise'
import {
  REWARDS_TEST_JOB,
  type RewardsTestJobInput,
  type RewardsTestJobOutput,
  type RewardTestSample
} from '../jobs/kinds/rewards-test'
import { resolveRewardSpec, RewardSpecError, type RewardSpec } from '../rewards'
import { graphCacheDir } from '../store/location'
import { ApiError } from './errors'
import type { RequestContext } from './handlers'
import { baseModelOrCheckpointTarget } from './weights-target'

const OPERATION = 'rewards.test'

/** Tests run in a lane of their own: a test must not wait behind an import, nor hold up the playground. */
const REWARDS_TEST_LANE = 'rewards-test'

/** Train samples are read this many at a time until enough have a prompt. */
const SAMPLE_PAGE = 100

/** Runs `check`, turning a spec the declarations refuse into invalid_input with the registry's words. */
export async function withSpecChecked<T>(check: () => Promise<T>): Promise<T> {
  try {
    return await check()
  } catch (error) {
    if (error instanceof RewardSpecError) throw new ApiError('invalid_input', error.message)
    throw error
  }
}

/** A sample as the test asks it, or why it has no prompt. */
export function testSampleOf(row: VersionSampleRow): RewardTestSample | RewardTestSkip['reason'] {
  const { conversation } = row
  if (conversation.text !== undefined) return 'raw_text'
  const start = completionStart(conversation.messages)
  if (start === 0) return 'no_user_turn'
  const answers = conversation.messages
    .slice(start)
    .filter((message) => message.role === 'assistant' && message.content !== '')
  return {
    position: row.position,
    sampleId: row.sampleId,
    messages: conversation.messages.slice(0, start) as ChatMessage[],
    tools: conversation.tools ?? null,
    reference: answers.length > 0 ? answers.map((message) => message.content).join('\n') : null,
    metadata: conversation.metadata ?? {}
  }
}

/** The first `count` train samples with a prompt, and the ones passed over before them. */
function chooseSamples(
  ctx: RequestContext,
  versionId: number,
  count: number
): { samples: RewardTestSample[]; skipped: RewardTestSkip[]; skippedCount: number } {
  const samples: RewardTestSample[] = []
  const skipped: RewardTestSkip[] = []
  let skippedCount = 0
  for (let offset = 0; samples.length < count; offset += SAMPLE_PAGE) {
    const page = ctx.store.datasets.versionSamples(versionId, { split: 'train', limit: SAMPLE_PAGE, offset })
    for (const row of page) {
      if (samples.length === count) break
      const sample = testSampleOf(row)
      if (typeof sample !== 'string') samples.push(sample)
      else if (++skippedCount <= MAX_REWARD_TEST_SKIPS)
        skipped.push({ position: row.position, sampleId: row.sampleId, reason: sample })
    }
    if (page.length < SAMPLE_PAGE) break
  }
  if (samples.length === 0) {
    throw new ApiError(
      'invalid_input',
      `${OPERATION}: dataset version ${versionId} has no train sample with a user turn to prompt the model with` +
        (skippedCount > 0 ? ` (${skippedCount} raw-text or without a user turn)` : '')
    )
  }
  return { samples, skipped, skippedCount }
}

/** Mean total and mean per term (by the spec's term order) over every completion. */
export function rewardMeans(
  spec: RewardSpec,
  prompts: readonly RewardTestPrompt[]
): { meanTotal: number; meanTerms: RewardTermMean[] } {
  const completions = prompts.flatMap((prompt) => prompt.completions)
  const mean = (values: number[]) =>
    values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length
  return {
    meanTotal: mean(completions.map((completion) => completion.total)),
    meanTerms: spec.terms.map((term, index) => ({
      reward: term.reward,
      weight: term.weight,
      mean: mean(completions.map((completion) => completion.terms[index].value))
    }))
  }
}

export async function testRewards(
  ctx: RequestContext,
  input: ParsedInput<'rewards.test'>
): Promise<RewardTestResult> {
  const target = baseModelOrCheckpointTarget(ctx, OPERATION, input)
  if (!ctx.store.datasets.getVersion(input.datasetVersionId)) {
    throw new ApiError('not_found', `${OPERATION}: dataset version ${input.datasetVersionId} does not exist`)
  }
  await withSpecChecked(() => resolveRewardSpec(input.spec))
  const { samples, skipped, skippedCount } = chooseSamples(ctx, input.datasetVersionId, input.prompts)
  const jobInput: RewardsTestJobInput = {
    modelDir: target.modelDir,
    adapterDir: target.adapterDir,
    checkpointDir: target.checkpointDir,
    cacheDir: graphCacheDir(ctx.store.dir),
    samples,
    spec: input.spec,
    completions: input.completions,
    temperature: input.temperature,
    topP: input.topP,
    maxNewTokens: input.maxNewTokens,
    seed: input.seed
  }
  const job = ctx.jobs.submit(REWARDS_TEST_JOB, jobInput, { lane: REWARDS_TEST_LANE })
  // Before any completion: the client learns which job is its own, to cancel it.
  ctx.events.emit('job.output', { jobId: job.id, requestId: input.requestId ?? null, text: '' })
  const finished = await ctx.jobs.wait(job.id)
  const result = finished.result as RewardsTestJobOutput | undefined
  if (finished.status === 'failed' || (finished.status === 'completed' && !result)) {
    throw new ApiError('failed', `${OPERATION}: ${target.label}: ${finished.error ?? finished.status}`)
  }
  // Cancelled before it started, or killed, a job has nothing to give: no prompt was scored.
  const prompts = result?.prompts ?? []
  return {
    jobId: job.id,
    prompts,
    skipped,
    skippedCount,
    ...rewardMeans(input.spec, prompts),
    cancelled: finished.status === 'cancelled' || (result?.cancelled ?? false)
  }
}
