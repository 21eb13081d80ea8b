import type { GraphBuilder } from '../../src-main/engine/graph/index'
import { createSession, type HostTensor } from '../../src-main/engine/runtime/session'

/** Runs a built graph once on one thread (in-memory model) and releases its session. */
export async function runGraph(g: GraphBuilder, feeds: Record<string, HostTensor>) {
  const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
  try {
    return await session.run(feeds)
  } finally {
    await session.release()
  }
}
