/**
 * The model's side of an evaluation: each task request (tasks/types.ts EvalRequest) answered by the
 * engine, as lm-eval's HF model answers it.
 *
 * - multiple_choice / loglikelihood: the (context, continuation) pairs encoded as lm-eval does
 *   (TargetEngine.encodePair); a question's choices share its context, which runs once for all of
 *   them (ChoiceScorer). Too long a pair loses tokens from the left of its context, as in lm-eval.
 * - loglikelihood_rolling: the text in disjoint windows of at most the model's context, each
 *   predicted from the text before it within that window (lm-eval's rolling windows, one token
 *   shorter, since our scorer takes the predicted token as part of the row).
 * - generate_until: greedy or sampled (seeded) until a stop string, an end-of-sequence token or
 *   max_gen_toks; a prompt too long for the answer loses tokens from its left.
 */
import { IGNORE_INDEX } from '../engine/tokenizer/labels'
import type { ScoreRow } from '../engine/infer/scoring'
import type { EvalDocRequest, EvalRequest, EvalResponse } from './tasks'
import type { TargetEngine, TokenPair } from './target-engine'

export interface RespondOptions {
  /** Items per engine run; null: as many as fit the engine's default token budget. */
  batchSize: number | null
  /** Seed of sampled generation (do_sample), offset by the document's index. */
  seed: number
  signal?: AbortSignal
  /** Documents answered so far (of this call's). */
  onProgress?: (done: number) => void
}

type Typed<T extends EvalRequest['type']> = EvalDocRequest & { request: Extract<EvalRequest, { type: T }> }

/** The engine's answers to `docs`, in their order. */
type Answerer<Doc extends EvalDocRequest> = (
  engine: TargetEngine,
  docs: readonly Doc[],
  options: RespondOptions
) => Promise<EvalResponse[]>

function where(doc: EvalDocRequest): string {
  return `document ${doc.index}`
}

/** Drops context tokens from the left until context + the longest continuation fit in `limit`. */
function fitContext(
  context: number[],
  longestContinuation: number,
  limit: number,
  doc: EvalDocRequest
): number[] {
  const room = limit - longestContinuation
  if (room < 1) {
    throw new Error(
      `${where(doc)}: a continuation of ${longestContinuation} tokens leaves no room for its context in the model's ${limit} positions`
    )
  }
  return context.length <= room ? context : context.slice(context.length - room)
}

function batchTokens(batchSize: number | null, rowLengths: readonly number[]): number | undefined {
  return batchSize === null ? undefined : batchSize * Math.max(1, ...rowLengths)
}

const answerChoices: Answerer<EvalDocRequest> = async (engine, docs, options) => {
  const items = docs.map((doc) => {
    const request = doc.request as Extract<EvalRequest, { type: 'multiple_choice' | 'loglikelihood' }>
    const continuations = request.type === 'multiple_choice' ? request.continuations : [request.continuation]
    const pairs: TokenPair[] = continuations.map((text) => engine.encodePair(request.context, text))
    pairs.forEach((pair, i) => {
      if (pair.continuation.length === 0)
        throw new Error(
          `${where(doc)}: continuation ${i} (${JSON.stringify(continuations[i])}) has no tokens`
        )
    })
    const longest = Math.max(...pairs.map((pair) => pair.continuation.length))
    return {
      context: fitContext(pairs[0].context, longest, engine.contextLimit, doc),
      continuations: pairs.map((pair) => pair.continuation)
    }
  })
  const scorer = await engine.choices()
  const rowLengths = items.map(
    (item) => item.context.length + item.continuations.reduce((n, c) => n + c.length, 0)
  )
  const scores = await scorer.scoreChoices(items, {
    batchTokens: batchTokens(options.batchSize, rowLengths),
    signal: options.signal,
    onProgress: (done) => options.onProgress?.(done)
  })
  return docs.map((doc, i): EvalResponse => {
    const perChoice = scores[i]
    if (doc.request.type === 'loglikelihood') {
      return { type: 'loglikelihood', logprob: perChoice[0].logprob, greedy: perChoice[0].greedy }
    }
    return {
      type: 'multiple_choice',
      logprobs: perChoice.map((s) => s.logprob),
      greedy: perChoice.map((s) => s.greedy)
    }
  })
}

/** Disjoint windows covering `tokens`, each a scoring row of at most `limit` tokens. */
export function rollingRows(tokens: readonly number[], prefix: number, limit: number): ScoreRow[] {
  const predicted = limit - 1 // a row holds one token before the first it predicts
  const rows: ScoreRow[] = []
  for (let start = 0; start < tokens.length; start += predicted) {
    const end = Math.min(tokens.length, start + predicted)
    const before = start === 0 ? [prefix] : tokens.slice(Math.max(0, end - limit), start)
    const inputIds = [...before, ...tokens.slice(start, end)]
    rows.push({ inputIds, labels: inputIds.map((id, t) => (t < before.length ? IGNORE_INDEX : id)) })
  }
  return rows
}

const answerRolling: Answerer<Typed<'loglikelihood_rolling'>> = async (engine, docs, options) => {
  const prefix = engine.prefixToken()
  const windows = docs.map((doc) =>
    rollingRows(
      engine.tokenizer.encode(doc.request.text, { addSpecialTokens: false }),
      prefix,
      engine.contextLimit
    )
  )
  const rows = windows.flat()
  const owner = windows.flatMap((docWindows, d) => docWindows.map(() => d))
  const scorer = await engine.rows()
  const scores = await scorer.scoreAll(rows, {
    batchTokens: batchTokens(
      options.batchSize,
      rows.map((row) => row.inputIds.length)
    ),
    signal: options.signal,
    // Windows are scored longest first, not by document: progress is the share of windows done.
    onProgress: (rowsDone) => options.onProgress?.(Math.floor((rowsDone / rows.length) * docs.length))
  })
  const totals = docs.map(() => 0)
  scores.forEach((score, r) => (totals[owner[r]] += score.logprob))
  return totals.map((logprob) => ({ type: 'loglikelihood_rolling', logprob }))
}

/** Generates after `promptText`; the generated text, cut before the first stop string. */
export async function generateText(
  engine: TargetEngine,
  promptText: string,
  request: Extract<EvalRequest, { type: 'generate_until' }>,
  seed: number,
  signal?: AbortSignal
): Promise<string> {
  const generator = await engine.generation()
  const maxNewTokens = Math.min(request.maxGenToks, engine.contextLimit - 1)
  let prompt = engine.encode(promptText)
  const room = engine.contextLimit - maxNewTokens
  if (prompt.length > room) prompt = prompt.slice(prompt.length - room)
  const { text } = await generator.generate(prompt, engine.tokenizer, {
    maxNewTokens,
    temperature: request.doSample ? request.temperature : 0,
    seed,
    stopStrings: request.until,
    signal
  })
  return text
}

const answerGeneration: Answerer<Typed<'generate_until'>> = async (engine, docs, options) => {
  const responses: EvalResponse[] = []
  for (const doc of docs) {
    if (options.signal?.aborted) throw new Error('evaluation cancelled')
    const text = await generateText(engine, doc.prompt, doc.request, options.seed + doc.index, options.signal)
    responses.push({ type: 'generate_until', text })
    options.onProgress?.(responses.length)
  }
  return responses
}

/** The engine's answer to every request, in order. All requests of one call share a type (one task). */
export async function respond(
  engine: TargetEngine,
  docs: readonly EvalDocRequest[],
  options: RespondOptions
): Promise<EvalResponse[]> {
  if (docs.length === 0) return []
  const type = docs[0].request.type
  if (type === 'generate_until') return answerGeneration(engine, docs as Typed<'generate_until'>[], options)
  if (type === 'loglikelihood_rolling')
    return answerRolling(engine, docs as Typed<'loglikelihood_rolling'>[], options)
  return answerChoices(engine, docs, options)
}
