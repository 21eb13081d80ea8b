/**
 * The OpenAI-compatible endpoint under `/v1/`: `GET /v1/models`, `GET /v1/models/<name>`,
 * `POST /v1/chat/completions` and `POST /v1/completions`, whole or streamed as server-sent events,
 * so that tools which speak OpenAI's API can use the store's models and checkpoints. The key is the
 * server's token (`Authorization: Bearer <token>`), and the server's Host and Origin rules apply
 * as to the rest of the API; every refusal is in OpenAI's error shape. Model names: openai-models.ts.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RequestContext } from '../api/handlers'
import { listOpenAiModels, resolveOpenAiModel } from '../api/openai-models'
import { readJsonBody } from './call'
import { requireJsonBody, requireSameOrigin } from './guard'
import { OpenAiError, openAiErrorBody, sendOpenAiFailure, toOpenAiError } from './openai-errors'
import { runGeneration, type GenerationOutcome } from './openai-generate'
import { parseChatRequest, parseCompletionRequest, type GenerationRequest } from './openai-requests'
import {
  chatFormat,
  chunk,
  completionFormat,
  usageOf,
  wholeAnswer,
  type AnswerFormat,
  type AnswerHeading
} from './openai-responses'
import { HttpError, sendJson } from './respond'

export const OPENAI_PREFIX = '/v1/'

export interface OpenAiDoor {
  ctx: RequestContext
  /** The server's own admission of a request (Host and token); throws its HttpError. */
  admit(req: IncomingMessage, url: URL): void
  log(line: string): void
}

type Generation = (onText: (piece: string) => void) => Promise<GenerationOutcome | null>

const MODELS_PATH = '/v1/models'

const generationEndpoints: Record<
  string,
  { parse: (body: unknown) => GenerationRequest; format: AnswerFormat }
> = {
  '/v1/chat/completions': { parse: parseChatRequest, format: chatFormat },
  '/v1/completions': { parse: parseCompletionRequest, format: completionFormat }
}

function modelNotFound(name: string): OpenAiError {
  return new OpenAiError(
    404,
    'not_found_error',
    `The model ${JSON.stringify(name)} does not exist: GET ${MODELS_PATH} lists the models this server has`,
    'model',
    'model_not_found'
  )
}

function requireMethod(req: IncomingMessage, pathname: string, method: 'GET' | 'POST'): void {
  if (req.method !== method)
    throw new HttpError(405, 'invalid_input', `${pathname}: use ${method}`, { allow: method })
}

function modelNameIn(pathname: string): string {
  try {
    return decodeURIComponent(pathname.slice(MODELS_PATH.length + 1))
  } catch {
    throw new OpenAiError(
      400,
      'invalid_request_error',
      `${pathname}: the model name is not valid percent-encoding`,
      null
    )
  }
}

function answerModels(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  ctx: RequestContext
): void {
  requireMethod(req, pathname, 'GET')
  const models = listOpenAiModels(ctx)
  if (pathname === MODELS_PATH) return sendJson(res, 200, { object: 'list', data: models })
  const name = modelNameIn(pathname)
  const model = models.find((m) => m.id === name)
  if (!model) throw modelNotFound(name)
  sendJson(res, 200, model)
}

/** Server-sent events, as OpenAI streams: one `data: <json>` per chunk, then `data: [DONE]`. */
async function streamAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  door: OpenAiDoor,
  answer: { format: AnswerFormat; heading: AnswerHeading; includeUsage: boolean },
  generation: Generation
): Promise<void> {
  const { format, heading } = answer
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' })
  res.flushHeaders()
  const send = (value: unknown) => {
    if (!res.destroyed) res.write(`data: ${JSON.stringify(value)}\n\n`)
  }
  let first = true
  try {
    const outcome = await generation((piece) => {
      send(chunk(format, heading, [format.chunkChoice(piece, null, first)]))
      first = false
    })
    if (!outcome) return
    send(chunk(format, heading, [format.chunkChoice('', outcome.finishReason, first)]))
    if (answer.includeUsage) send(chunk(format, heading, [], usageOf(outcome)))
    res.end('data: [DONE]\n\n')
  } catch (err) {
    // The status went out with the headers: the failure can only be told in the stream itself.
    const error = toOpenAiError(err, req)
    if (error.status >= 500) door.log(`error: ${error.message}`)
    send(openAiErrorBody(error))
    res.end()
  }
}

async function answerGeneration(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  door: OpenAiDoor
): Promise<void> {
  const { parse, format } = generationEndpoints[pathname]
  requireMethod(req, pathname, 'POST')
  requireJsonBody(req, pathname)
  const request = parse(await readJsonBody(req, pathname))
  const target = resolveOpenAiModel(door.ctx, request.model)
  if (!target) throw modelNotFound(request.model)
  const heading: AnswerHeading = {
    id: format.idPrefix + randomUUID().replaceAll('-', ''),
    created: Math.floor(Date.now() / 1000),
    model: request.model
  }
  const generation: Generation = (onText) => runGeneration(door.ctx, target, request, res, onText)
  if (request.stream) {
    return streamAnswer(req, res, door, { format, heading, includeUsage: request.includeUsage }, generation)
  }
  const outcome = await generation(() => {})
  if (outcome) sendJson(res, 200, wholeAnswer(format, heading, outcome))
}

async function route(req: IncomingMessage, res: ServerResponse, url: URL, door: OpenAiDoor): Promise<void> {
  door.admit(req, url)
  requireSameOrigin(req, url.pathname)
  const { pathname } = url
  if (pathname === MODELS_PATH || pathname.startsWith(`${MODELS_PATH}/`))
    return answerModels(req, res, pathname, door.ctx)
  if (Object.hasOwn(generationEndpoints, pathname)) return answerGeneration(req, res, pathname, door)
  throw new OpenAiError(
    404,
    'not_found_error',
    `${pathname}: this server answers ${MODELS_PATH}, /v1/chat/completions and /v1/completions`,
    null
  )
}

/** Answers a request under OPENAI_PREFIX; never throws. */
export async function answerOpenAi(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  door: OpenAiDoor
): Promise<void> {
  try {
    await route(req, res, url, door)
  } catch (err) {
    sendOpenAiFailure(req, res, err, door.log)
  }
}
