/**
 * Refusals of the OpenAI-compatible endpoint in OpenAI's shape,
 * `{"error": {"message", "type", "param", "code"}}`, which OpenAI's clients turn into their typed
 * errors by status (400 BadRequestError, 401 AuthenticationError, 404 NotFoundError…).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ApiError } from '../api/errors'
import { HttpError, sendRefusal } from './respond'

export type OpenAiErrorType =
  'invalid_request_error' | 'authentication_error' | 'permission_error' | 'not_found_error' | 'server_error'

export class OpenAiError extends Error {
  constructor(
    readonly status: number,
    readonly type: OpenAiErrorType,
    message: string,
    /** The request field at fault, dotted (`messages.0.role`); null when none is. */
    readonly param: string | null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {}
  ) {
    super(message)
    this.name = 'OpenAiError'
  }
}

/** The OpenAI type and code for the server's own refusals (auth, Host, Origin, body limits). */
function fromHttpError(err: HttpError): OpenAiError {
  const byStatus: Record<number, [OpenAiErrorType, string | null]> = {
    401: ['authentication_error', 'invalid_api_key'],
    403: ['permission_error', null],
    404: ['not_found_error', null]
  }
  const [type, code] =
    byStatus[err.status] ?? (err.status >= 500 ? ['server_error', null] : ['invalid_request_error', null])
  return new OpenAiError(err.status, type, err.message, null, code, err.headers)
}

/** An API error from resolving weights: a run without weights yet is a model that is not there. */
function fromApiError(err: ApiError): OpenAiError {
  if (err.code === 'not_found' || err.code === 'conflict')
    return new OpenAiError(404, 'not_found_error', err.message, 'model', 'model_not_found')
  if (err.code === 'invalid_input') return new OpenAiError(400, 'invalid_request_error', err.message, null)
  return new OpenAiError(500, 'server_error', err.message, null)
}

export function toOpenAiError(err: unknown, req: IncomingMessage): OpenAiError {
  if (err instanceof OpenAiError) return err
  if (err instanceof HttpError) return fromHttpError(err)
  if (err instanceof ApiError) return fromApiError(err)
  const message = err instanceof Error ? err.message : String(err)
  return new OpenAiError(500, 'server_error', `${req.method} ${req.url}: ${message}`, null)
}

/** The error body alone: also what a stream sends when it fails after its headers went out. */
export function openAiErrorBody(error: OpenAiError): { error: Record<string, unknown> } {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.code } }
}

/** Answers a failed request in OpenAI's shape. Never throws, so it can end any handler's chain. */
export function sendOpenAiFailure(
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  log: (line: string) => void
): void {
  const error = toOpenAiError(err, req)
  if (!res.headersSent && error.status >= 500) log(`error: ${error.message}`)
  sendRefusal(req, res, error.status, error.headers, openAiErrorBody(error))
}
