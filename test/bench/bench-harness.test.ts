/**
 * The scale benchmark's harness (bench/scale.ts): random model folders in every layout it writes
 * load through the engine's checkpoint reader, and the memory-guarded child runner turns every way
 * a child can end into an outcome.
 */
import { existsSync, readdirSync } from 'node:fs'
import { totalmem } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { randomModelBytes, writeRandomModelFolder } from '../../bench/bench-model'
import { runGuardedChild } from '../../bench/guarded-child'
import { parseModelConfig } from '../../src-main/engine/checkpoint/hf-config'
import { expectedTensors } from '../../src-main/engine/checkpoint/hf-layout'
import { openCheckpoint, SHARD_INDEX_NAME } from '../../src-main/engine/checkpoint/safetensors'
import { tempDir } from '../helpers/temp'

/** A Qwen2-shaped toy (q/k/v biases, tied embeddings): a few kB of weights. */
const TOY_QWEN2 = {
  architectures: ['Qwen2ForCausalLM'],
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 3,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 96,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  tie_word_embeddings: true
}
const SPREAD = 0.02 * Math.sqrt(3)

describe('writeRandomModelFolder', () => {
  let cleanup = (): void => {}
  afterEach(() => cleanup())

  function readAll(modelDir: string): Map<string, Float32Array> {
    const checkpoint = openCheckpoint(modelDir)
    try {
      return new Map(checkpoint.names().map((name) => [name, checkpoint.readFloat32(name)]))
    } finally {
      checkpoint.close()
    }
  }

  it('shards a model bigger than the shard size, and the sharded folder reads like a single file', () => {
    const temp = tempDir('bench-model-')
    cleanup = temp.cleanup
    const single = writeRandomModelFolder(join(temp.dir, 'single'), TOY_QWEN2, 'BF16')
    const sharded = writeRandomModelFolder(join(temp.dir, 'sharded'), TOY_QWEN2, 'BF16', 8192)
    expect(readdirSync(single).sort()).toEqual(['config.json', 'model.safetensors'])
    expect(existsSync(join(sharded, SHARD_INDEX_NAME))).toBe(true)
    expect(readdirSync(sharded).filter((f) => f.startsWith('model-')).length).toBeGreaterThan(2)
    const names = expectedTensors(parseModelConfig(TOY_QWEN2)).map((t) => t.name)
    expect(names).toContain('model.layers.0.self_attn.q_proj.bias')
    const fromSingle = readAll(single)
    const fromShards = readAll(sharded)
    expect([...fromShards.keys()].sort()).toEqual([...names].sort())
    for (const name of names) expect(fromShards.get(name)).toEqual(fromSingle.get(name))
  })

  it('fills norms with 1 and everything else with spread-0.02 uniform values, in F32 and BF16', () => {
    const temp = tempDir('bench-model-')
    cleanup = temp.cleanup
    for (const dtype of ['F32', 'BF16'] as const) {
      const tensors = readAll(writeRandomModelFolder(join(temp.dir, dtype), TOY_QWEN2, dtype))
      expect([...tensors.get('model.norm.weight')!]).toEqual(new Array(32).fill(1))
      const embedding = tensors.get('model.embed_tokens.weight')!
      const values = [...embedding]
      expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(SPREAD * 1.01)
      const variance = values.reduce((sum, v) => sum + v * v, 0) / values.length
      expect(Math.sqrt(variance)).toBeCloseTo(0.02, 2) // a uniform in ±0.02·√3 has σ 0.02
      expect(new Set(values).size).toBeGreaterThan(values.length / 4)
    }
  })

  it('writes the same values for the same config, and reuses a complete folder', () => {
    const temp = tempDir('bench-model-')
    cleanup = temp.cleanup
    const first = readAll(writeRandomModelFolder(join(temp.dir, 'a'), TOY_QWEN2, 'F32'))
    const second = readAll(writeRandomModelFolder(join(temp.dir, 'b'), TOY_QWEN2, 'F32'))
    expect(second).toEqual(first)
    expect(randomModelBytes(TOY_QWEN2, 'BF16') * 2).toBe(randomModelBytes(TOY_QWEN2, 'F32'))
    const before = readAll(
      writeRandomModelFolder(join(temp.dir, 'a'), { ...TOY_QWEN2, vocab_size: 200 }, 'F32')
    )
    expect(before).toEqual(first) // the folder was complete: nothing rewritten
  })
})

describe('runGuardedChild', () => {
  const node = (code: string) => runGuardedChild<{ value: number }>(process.execPath, ['-e', code])

  it("returns the child's JSON report", async () => {
    expect(await node('console.log(JSON.stringify({ value: 7 }))')).toEqual({
      ok: true,
      report: { value: 7 }
    })
  })

  it('reports the failure a child states, or the last line of its stderr', async () => {
    const stated = await node(
      'console.log(JSON.stringify({ failure: "int4: not supported" })); process.exitCode = 1'
    )
    expect(stated).toMatchObject({ ok: false, failure: 'int4: not supported' })
    const thrown = await node('throw new Error("no such model")')
    expect(thrown).toMatchObject({ ok: false, failure: expect.stringMatching(/^exit 1: .*no such model/) })
  })

  it('reports a child killed by a signal, and a report that is not JSON', async () => {
    const killed = await node('setTimeout(() => process.kill(process.pid, "SIGKILL"), 300)')
    expect(killed).toMatchObject({
      ok: false,
      failure: expect.stringContaining('killed by SIGKILL (likely the kernel OOM killer)')
    })
    expect(await node('console.log("hello")')).toMatchObject({
      ok: false,
      failure: expect.stringContaining('not JSON')
    })
  })

  it('stops a child when available memory falls under the margin', async () => {
    const outcome = await runGuardedChild(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], {
      minAvailableBytes: totalmem() + 1
    })
    expect(outcome).toMatchObject({
      ok: false,
      failure: expect.stringMatching(/^stopped at .* RSS: the machine had under/)
    })
  })

  it('reports a command that cannot start', async () => {
    const outcome = await runGuardedChild('/nonexistent/python3', [])
    expect(outcome).toMatchObject({ ok: false, failure: expect.stringContaining('could not start') })
  })
})
