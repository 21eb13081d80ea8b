/**
 * models.generate: text after a prompt from a base model or a run's checkpoint, in an
 * "engine.generate" job whose streamed pieces are published as job.output events.
 */
import type { GenerateOutput, ParsedInput } from '../../src-preload/contract'
import { readModelConfig } from '../engine/checkpoint/hf-config'
import { contextLimit } from '../engine/infer/model-session'
import type { EngineGenerateInput, EngineGenerateOutput } from '../jobs/kinds/engine-generate'
import { graphCacheDir } from '../store/location'
import { ApiError } from './errors'
import type { RequestContext } from './handlers'
import { baseModelOrCheckpointTarget, type WeightsTarget } from './weights-target'

const OPERATION = 'models.generate'

/** Generations run in a lane of their own: trying a prompt must not wait behind an import or a count. */
export const GENERATE_LANE = 'generate'

export async function generate(
  ctx: RequestContext,
  input: ParsedInput<'models.generate'>
): Promise<GenerateOutput> {
  const target = baseModelOrCheckpointTarget(ctx, OPERATION, input)
  checkFitsContext(target, input.maxNewTokens)
  const jobInput: EngineGenerateInput = {
    modelDir: target.modelDir,
    adapterDir: target.adapterDir,
    checkpointDir: target.checkpointDir,
    prompt: input.prompt ?? '',
    messages: input.messages,
    chat: input.chat,
    maxNewTokens: input.maxNewTokens,
    temperature: input.temperature,
    topP: input.topP,
    topK: input.topK,
    seed: input.seed,
    stopStrings: input.stop ?? [],
    cacheDir: graphCacheDir(ctx.store.dir)
  }
  const requestId = input.requestId ?? null
  let streamed = ''
  let jobId = ''
  const job = ctx.jobs.submit('engine.generate', jobInput, {
    lane: GENERATE_LANE,
    onOutput: (text) => {
      streamed += text
      ctx.events.emit('job.output', { jobId, requestId, text })
    }
  })
  jobId = job.id
  // Before any text: the client learns which job is its own, to show it and to cancel it.
  ctx.events.emit('job.output', { jobId, requestId, text: '' })
  const finished = await ctx.jobs.wait(jobId)
  const result = finished.result as EngineGenerateOutput | undefined
  if (finished.status === 'completed' && result) return answer(jobId, result)
  if (finished.status === 'cancelled') {
    // Cancelled while generating, the job returns what it had; cancelled before, or killed, it has nothing.
    return result
      ? answer(jobId, result)
      : { jobId, text: streamed, finishReason: 'aborted', tokenCount: finished.progress?.done ?? 0 }
  }
  throw new ApiError('failed', `${OPERATION}: ${target.label}: ${finished.error ?? finished.status}`)
}

/**
 * New tokens that cannot fit even after a one-token prompt are refused here, in words, before a job
 * loads the model; whether they fit after the actual prompt only the job's tokenizer can tell.
 */
function checkFitsContext(target: WeightsTarget, maxNewTokens: number): void {
  let context: number
  try {
    context = contextLimit(readModelConfig(target.modelDir))
  } catch (error) {
    throw new ApiError('failed', `${OPERATION}: ${target.label}: ${(error as Error).message}`)
  }
  if (maxNewTokens < context) return
  throw new ApiError(
    'invalid_input',
    `${OPERATION}: ${target.label} reads at most ${context} tokens at once, the prompt included: ` +
      `ask for fewer than ${context} new tokens, not ${maxNewTokens}`
  )
}

function answer(jobId: string, result: EngineGenerateOutput): GenerateOutput {
  return { jobId, text: result.text, finishReason: result.finishReason, tokenCount: result.tokenIds.length }
}
