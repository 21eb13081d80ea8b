import type { ApiErrorShape } from '../../src-preload/contract'

/** An error meant for the user: it crosses every door as `{code, message, details}`, unchanged. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorShape['code'],
    message: string,
    readonly details?: unknown
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export function notFound(what: string, id: unknown): ApiError {
  return new ApiError('not_found', `${what} ${JSON.stringify(id)} does not exist`)
}

/**
 * Turns anything thrown by a handler into the shape that crosses a door. ApiErrors keep their code;
 * SQLite constraint failures are conflicts; anything else is reported with its own message, since a
 * message the user can read beats a generic "internal error".
 */
export function toErrorShape(err: unknown): ApiErrorShape {
  if (err instanceof ApiError) {
    return err.details === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, details: err.details }
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    // The store's own errors carry a contract code already (not_found, conflict).
    if (code === 'not_found' || code === 'conflict') return { code, message: err.message }
    if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
      return { code: 'conflict', message: err.message }
    }
    return { code: 'internal', message: err.message }
  }
  return { code: 'internal', message: String(err) }
}
