/**
 * models.generate: text after a prompt from a base model or a run's checkpoint, in an
 * "engine.generate" job whose streamed pieces are published as job.output events.
 */
import type { GenerateOutput, ParsedInput } from '../../src-preload/contract'
import type { EngineGenerateInput, EngineGenerateOutput } from '../jobs/kinds/engine-generate'
import { graphCacheDir } from '../store/location'
import { ApiError } from './errors'
import type { RequestContext } from './handlers'
import { baseModelTarget, checkpointTarget } from './weights-target'

const OPERATION = 'models.generate'

/** Generations run in a lane of their own: trying a prompt must not wait behind an import or a count. */
export const GENERATE_LANE = 'generate'

export async function generate(
  ctx: RequestContext,
  input: ParsedInput<'models.generate'>
): Promise<GenerateOutput> {
  const target =
    input.baseModelId !== undefined
      ? baseModelTarget(ctx, OPERATION, input.baseModelId)
      : checkpointTarget(ctx, OPERATION, input.checkpointId!)
  const jobInput: EngineGenerateInput = {
    modelDir: target.modelDir,
    adapterDir: target.adapterDir,
    checkpointDir: target.checkpointDir,
    prompt: input.prompt,
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

function answer(jobId: string, result: EngineGenerateOutput): GenerateOutput {
  return { jobId, text: result.text, finishReason: result.finishReason, tokenCount: result.tokenIds.length }
}
