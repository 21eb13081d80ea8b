/**
 * `rewards.test`: a reward spec tried before training with it. Each prompt (a train sample's
 * conversation up to its last user turn) is answered several times by the model, sampled with a
 * seed of its own, and every completion is scored with the spec as a training run would score it:
 * the prompt as the template rendered it, the sample's gold response as the reference, its metadata
 * as the rewards' metadata. Generation blocks its thread, hence a job; cancelling it keeps what was
 * scored.
 */
import { encodeChatMessages } from '../../engine/infer/generation'
import { contextLimit } from '../../engine/infer/model-session'
import { Rng } from '../../engine/rng'
import type { ChatMessage } from '../../engine/tokenizer/chat-template'
import { resolveRewardSpec, RewardSession, scoreWithSpec, type RewardSpec } from '../../rewards'
import type { RewardTestPrompt } from '../../../src-preload/contract'
import type { JobKind } from '../protocol'
import { openGeneration, type GenerationWeights } from './engine-generate'

export const REWARDS_TEST_JOB = 'rewards.test'

/** A train sample as the test asks it: the turns up to its last user turn, and what scores it. */
export interface RewardTestSample {
  position: number
  sampleId: number | null
  messages: ChatMessage[]
  tools: unknown[] | null
  reference: string | null
  metadata: Record<string, unknown>
}

export interface RewardsTestJobInput extends GenerationWeights {
  samples: RewardTestSample[]
  spec: RewardSpec
  completions: number
  temperature: number
  topP: number
  maxNewTokens: number
  seed: number
}

export interface RewardsTestJobOutput {
  /** In sample order; after a cancel, only prompts with a completion scored. */
  prompts: RewardTestPrompt[]
  cancelled: boolean
}

/** Separates the test's sampler seeds from other users of the same seed ("RwTs"). */
const REWARD_TEST_STREAM = 0x52775473

/** The sampler seed of one completion: the same (seed, sample, completion) always draws the same. */
export function completionSeed(seed: number, position: number, completion: number): number {
  return Rng.fromSeed(seed, REWARD_TEST_STREAM, position, completion).nextUint32()
}

export const rewardsTestJob: JobKind<RewardsTestJobInput, RewardsTestJobOutput> = {
  kind: REWARDS_TEST_JOB,
  summary: 'Sample completions of a few prompts and score each with a reward spec, term by term',
  async run(input, ctx) {
    // Checked in main before the job was queued; resolved again here for the rewards' own state.
    const terms = await resolveRewardSpec(input.spec)
    const total = input.samples.length * input.completions
    ctx.progress(0, total, 'loading the model')
    const { tokenizer, generator } = await openGeneration(input)
    const session = new RewardSession()
    const prompts: RewardTestPrompt[] = []
    let done = 0
    try {
      const limit = contextLimit(generator.model.config)
      for (const sample of input.samples) {
        if (ctx.signal.aborted) break
        const promptIds = encodeChatMessages(tokenizer, sample.messages, sample.tools)
        const room = limit - promptIds.length
        if (room < 1) {
          throw new Error(
            `sample ${sample.position}: its prompt takes ${promptIds.length} of the ${limit} tokens the model reads at once`
          )
        }
        const prompt: RewardTestPrompt = {
          position: sample.position,
          sampleId: sample.sampleId,
          prompt: tokenizer.decode(promptIds, { skipSpecialTokens: true }),
          reference: sample.reference,
          completions: []
        }
        for (let c = 0; c < input.completions && !ctx.signal.aborted; c++) {
          const generated = await generator.generate(promptIds, tokenizer, {
            maxNewTokens: Math.min(input.maxNewTokens, room),
            temperature: input.temperature,
            topP: input.topP,
            seed: completionSeed(input.seed, sample.position, c),
            signal: ctx.signal
          })
          if (generated.finishReason === 'aborted') break
          const tokenCount = generated.tokenIds.length - (generated.finishReason === 'eos' ? 1 : 0)
          const score = await scoreWithSpec(
            terms,
            {
              prompt: prompt.prompt,
              completion: generated.text,
              reference: sample.reference,
              metadata: sample.metadata,
              completionTokens: tokenCount
            },
            session
          )
          prompt.completions.push({
            text: generated.text,
            tokenCount,
            finishReason: generated.finishReason,
            ...score
          })
          done += 1
          ctx.progress(
            done,
            total,
            `prompt ${prompts.length + 1} of ${input.samples.length}, completion ${c + 1} of ${input.completions}`
          )
        }
        if (prompt.completions.length > 0) prompts.push(prompt)
      }
    } finally {
      session.close()
      await generator.release()
    }
    return { prompts, cancelled: ctx.signal.aborted }
  }
}
