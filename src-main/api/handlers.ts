import type { CallName, CallOutput, ParsedInput, SystemInfo } from '../../src-preload/contract'
import type { ApiContext } from './context'

/** What a handler sees: the app's services plus which door the request came through. */
export interface RequestContext extends ApiContext {
  transport: SystemInfo['transport']
}

export type Handler<K extends CallName> = (
  input: ParsedInput<K>,
  ctx: RequestContext
) => CallOutput<K> | Promise<CallOutput<K>>

export type Handlers = { [K in CallName]: Handler<K> }
