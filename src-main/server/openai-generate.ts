/**
 * One OpenAI request's generation, as an "engine.generate" job in the lane the Playground's
 * generations use: the server thread only relays the pieces the job streams, and a client that
 * hangs up cancels its job.
 */
import type { ServerResponse } from 'node:http'
import { GENERATE_LANE } from '../api/generate'
import type { RequestContext } from '../api/handlers'
import type { WeightsTarget } from '../api/weights-target'
import type { EngineGenerateInput, EngineGenerateOutput } from '../jobs/kinds/engine-generate'
import { graphCacheDir } from '../store/location'
import { OpenAiError } from './openai-errors'
import type { GenerationRequest } from './openai-requests'

export interface GenerationOutcome {
  text: string
  finishReason: 'stop' | 'length'
  promptTokens: number
  completionTokens: number
}

/** max_tokens left out: the job generates as many as the context has room for (fitToContext). */
const UNTIL_CONTEXT_IS_FULL = Number.MAX_SAFE_INTEGER

function jobInput(
  ctx: RequestContext,
  target: WeightsTarget,
  request: GenerationRequest
): EngineGenerateInput {
  return {
    modelDir: target.modelDir,
    adapterDir: target.adapterDir,
    checkpointDir: target.checkpointDir,
    prompt: request.prompt ?? '',
    messages: request.messages ?? undefined,
    chat: false,
    maxNewTokens: request.maxTokens ?? UNTIL_CONTEXT_IS_FULL,
    fitToContext: true,
    temperature: request.temperature,
    topP: request.topP,
    seed: request.seed,
    stopStrings: request.stop,
    cacheDir: graphCacheDir(ctx.store.dir)
  }
}

function outcome(request: GenerationRequest, result: EngineGenerateOutput): GenerationOutcome {
  if (result.tokenIds.length === 0 && result.finishReason === 'length') {
    throw new OpenAiError(
      400,
      'invalid_request_error',
      `${request.model}: the prompt takes ${result.promptTokenCount} tokens, which fills the model's context: ` +
        'there is no room left for new tokens',
      request.messages ? 'messages' : 'prompt',
      'context_length_exceeded'
    )
  }
  return {
    text: result.text,
    // An end-of-sequence token and a stop string both end the answer where the model meant it to.
    finishReason: result.finishReason === 'length' ? 'length' : 'stop',
    promptTokens: result.promptTokenCount,
    completionTokens: result.tokenIds.length
  }
}

/**
 * Generates for `request` with `target`, handing each new piece of text to `onText` as it comes.
 * Resolves null when the client hung up first (its job is then cancelled: nobody would read it).
 */
export async function runGeneration(
  ctx: RequestContext,
  target: WeightsTarget,
  request: GenerationRequest,
  res: ServerResponse,
  onText: (piece: string) => void
): Promise<GenerationOutcome | null> {
  const job = ctx.jobs.submit('engine.generate', jobInput(ctx, target, request), {
    lane: GENERATE_LANE,
    onOutput: onText
  })
  let answered = false
  const cancelUnlessAnswered = () => {
    if (!answered) ctx.jobs.cancel(job.id)
  }
  res.once('close', cancelUnlessAnswered)
  try {
    const finished = await ctx.jobs.wait(job.id)
    if (finished.status === 'cancelled' || res.destroyed) return null
    const result = finished.result as EngineGenerateOutput | undefined
    if (finished.status !== 'completed' || !result) {
      throw new OpenAiError(
        500,
        'server_error',
        `${request.model}: generation failed: ${finished.error ?? finished.status}`,
        null
      )
    }
    return outcome(request, result)
  } finally {
    answered = true
    res.off('close', cancelUnlessAnswered)
  }
}
