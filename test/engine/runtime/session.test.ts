import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import * as op from '../../../src-main/engine/graph/index'
import { GraphBuilder } from '../../../src-main/engine/graph/index'
import { cudaProviderInstalled, cudaProviderPath } from '../../../src-main/engine/runtime/devices'
import { createSession, hostTensor, onnxruntimeVersion } from '../../../src-main/engine/runtime/session'
import {
  maxAbsDifference,
  maxRelativeDifference,
  PARITY_STEPS,
  PARITY_TOLERANCE,
  parityLosses,
  parityTokenLogprobs
} from '../../helpers/device-parity'
import { tempDir } from '../../helpers/temp'

describe('createSession', () => {
  test('device "cuda" without the CUDA provider says how to install it', async () => {
    if (cudaProviderInstalled()) return // a machine with the provider installed has nothing to refuse
    await expect(createSession(new Uint8Array(0), { device: 'cuda' })).rejects.toThrow(/npm run setup:cuda/)
    expect(cudaProviderPath()).toMatch(/onnxruntime_providers_cuda/)
  })

  test('a broken model fails with the operation named', async () => {
    await expect(createSession(Uint8Array.from([1, 2, 3]))).rejects.toThrow(
      /createSession: loading model \(3 bytes\)/
    )
  })

  test('runs with typed arrays in and out: int64, bool, float16', async () => {
    const g = new GraphBuilder('types')
    const ids = g.input('ids', 'int64', ['n'])
    const h = g.input('h', 'float16', ['n'])
    g.output(op.add(ids, 1), 'next')
    g.output(op.equal(ids, 2), 'is_two')
    g.output(op.neg(h), 'neg_h')
    const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
    expect(session.inputNames).toEqual(['ids', 'h'])
    const out = await session.run({
      ids: hostTensor('int64', [3], BigInt64Array.from([1n, 2n, 3n])),
      h: hostTensor('float16', [3], Uint16Array.from([0x3c00, 0, 0xc000]))
    })
    expect(out.next.data).toBeInstanceOf(BigInt64Array)
    expect(Array.from(out.next.data as BigInt64Array)).toEqual([2n, 3n, 4n])
    expect(out.is_two.dtype).toBe('bool')
    expect(Array.from(out.is_two.data as Uint8Array)).toEqual([0, 1, 0])
    expect(Array.from(out.neg_h.data as Uint16Array)).toEqual([0xbc00, 0x8000, 0x4000])
    const only = await session.run(
      {
        ids: hostTensor('int64', [1], BigInt64Array.from([5n])),
        h: hostTensor('float16', [1], new Uint16Array(1))
      },
      ['next']
    )
    expect(Object.keys(only)).toEqual(['next'])
    await session.release()
  })

  test('a feed whose data does not fit its dims is refused', async () => {
    const g = new GraphBuilder('feeds')
    g.output(op.neg(g.input('x', 'float32', [2])), 'y')
    const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
    const bad = { dtype: 'float32', dims: [2], data: new Float32Array(3) } as const
    await expect(session.run({ x: bad })).rejects.toThrow(
      /feed "x" has dims \[2\] \(2 elements\) but 3 values/
    )
    await session.release()
  })

  test('reports the onnxruntime version', () => {
    expect(onnxruntimeVersion()).toBe('1.30.0')
  })
})

describe('CUDA against CPU on stories260K', () => {
  const temp = tempDir('fs-device-parity-')
  const cacheDir = join(temp.dir, 'cache')
  afterAll(() => temp.cleanup())
  /** The three golden rows score 8 + 20 + 40 tokens. */
  const SCORED_TOKENS = 68

  test('the measures the CUDA tests compare run on CPU: 68 log-probs, 5 finite losses that fall', async () => {
    const logprobs = await parityTokenLogprobs('cpu', cacheDir)
    expect(logprobs).toHaveLength(SCORED_TOKENS)
    for (const value of logprobs) expect(value).toBeLessThan(0)
    const losses = await parityLosses('cpu', temp.dir, 'cpu-only')
    expect(losses).toHaveLength(PARITY_STEPS)
    for (const loss of losses) expect(Number.isFinite(loss)).toBe(true)
    expect(losses[PARITY_STEPS - 1]).toBeLessThan(losses[0])
  })

  // Skipped (not passed) on a machine without the provider: `npm run setup:cuda` enables them.
  test.runIf(cudaProviderInstalled())(
    `scoring: every token's log-prob on CUDA within ${PARITY_TOLERANCE.logprobNats} nats of CPU`,
    async () => {
      const cpu = await parityTokenLogprobs('cpu', cacheDir)
      const cuda = await parityTokenLogprobs('cuda', cacheDir)
      expect(cuda).toHaveLength(SCORED_TOKENS)
      expect(maxAbsDifference(cuda, cpu)).toBeLessThan(PARITY_TOLERANCE.logprobNats)
    }
  )

  test.runIf(cudaProviderInstalled())(
    `${PARITY_STEPS} LoRA steps: each loss on CUDA within ${PARITY_TOLERANCE.lossRelative} (relative) of CPU`,
    async () => {
      const cpu = await parityLosses('cpu', temp.dir, 'cpu')
      const cuda = await parityLosses('cuda', temp.dir, 'cuda')
      expect(cuda).toHaveLength(PARITY_STEPS)
      expect(maxRelativeDifference(cuda, cpu)).toBeLessThan(PARITY_TOLERANCE.lossRelative)
      expect(cuda[PARITY_STEPS - 1]).toBeLessThan(cuda[0])
    }
  )
})
