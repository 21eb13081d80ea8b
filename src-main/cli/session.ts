import { createApiContext } from '../api/context'
import { invoke } from '../api/dispatch'
import type { RequestContext } from '../api/handlers'
import type { CallName, CallOutput } from '../../src-preload/contract'
import { resolveStoreDir } from '../store/location'
import type { ParsedArgs } from './command'

/** The CLI's door onto the API: the same handlers, called in-process. */
export interface CliSession {
  ctx: RequestContext
  call<K extends CallName>(name: K, input: unknown): Promise<CallOutput<K>>
}

export function storeDirFor(args: ParsedArgs): string {
  return resolveStoreDir({ flag: args.values.store as string | undefined }).dir
}

export async function withSession<T>(
  args: ParsedArgs,
  body: (session: CliSession) => Promise<T>
): Promise<T> {
  const api = createApiContext(storeDirFor(args), { indexSearchOnOpen: false })
  const ctx: RequestContext = { ...api, transport: 'direct' }
  try {
    return await body({ ctx, call: (name, input) => invoke(name, input, ctx) })
  } finally {
    await api.dispose()
  }
}
