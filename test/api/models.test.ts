import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiContext } from '../../src-main/api/context'
import { invoke } from '../../src-main/api/dispatch'
import type { RequestContext } from '../../src-main/api/handlers'
import { STORIES_260K, tempDir } from '../helpers/temp'

const STORIES_CONFIG = {
  architectures: ['LlamaForCausalLM'],
  vocab_size: 512,
  hidden_size: 64,
  intermediate_size: 172,
  num_hidden_layers: 5,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 8,
  max_position_embeddings: 512,
  tie_word_embeddings: true
}

describe('models.validate and models.register on hostile model folders', () => {
  const dir = tempDir()
  let api: ReturnType<typeof createApiContext>
  let ctx: RequestContext

  /** stories260K's weights and tokenizer under a config.json of our own. */
  function modelFolder(name: string, config: Record<string, unknown>): string {
    const folder = join(dir.dir, name)
    mkdirSync(folder)
    for (const file of ['model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
      copyFileSync(join(STORIES_260K, file), join(folder, file))
    }
    writeFileSync(join(folder, 'config.json'), JSON.stringify(config))
    return folder
  }

  beforeAll(() => {
    api = createApiContext(join(dir.dir, 'store'))
    ctx = { ...api, transport: 'direct' }
  })
  afterAll(async () => {
    await api.dispose()
    dir.cleanup()
  })

  it('answers 3,000,000 and 1,000,000 layers with an error naming the file, key and value', async () => {
    for (const layers of [3_000_000, 1_000_000]) {
      const folder = modelFolder(`layers-${layers}`, { ...STORIES_CONFIG, num_hidden_layers: layers })
      const validation = await invoke('models.validate', { path: folder }, ctx)
      expect(validation.ok).toBe(false)
      expect(validation.errors).toContain(
        `model config ${join(folder, 'config.json')}: "num_hidden_layers" is ${layers}, beyond the limit of 1024 ` +
          '(no supported model comes near it)'
      )
      const { jobId } = await invoke('models.register', { path: folder }, ctx)
      const job = await ctx.jobs.wait(jobId)
      expect(job.status).toBe('failed')
      expect(job.error).toContain(`"num_hidden_layers" is ${layers}, beyond the limit of 1024`)
    }
    expect(await invoke('models.list', {}, ctx)).toEqual([])
  })

  it('refuses a config that implies more parameters than the weights hold, before comparing tensors', async () => {
    const folder = modelFolder('too-big', {
      ...STORIES_CONFIG,
      hidden_size: 4096,
      intermediate_size: 14336,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      head_dim: 128,
      vocab_size: 128256
    })
    const implied =
      'implies 7504924672 parameters (32 layers, hidden size 4096, intermediate size 14336, vocabulary 128256), ' +
      'but the weights hold only 1040128 bytes: this config does not describe these weights'
    const validation = await invoke('models.validate', { path: folder }, ctx)
    expect(validation).toMatchObject({ ok: false, parameterCount: 260_032, dtype: 'F32' })
    expect(validation.errors).toEqual([`model config ${join(folder, 'config.json')}: ${implied}`])

    const job = await ctx.jobs.wait((await invoke('models.register', { path: folder }, ctx)).jobId)
    expect(job.status).toBe('failed')
    expect(job.error).toContain(implied)
  })

  it('names the weights file whose safetensors header is longer than the file', async () => {
    const folder = modelFolder('bad-header', STORIES_CONFIG)
    const weights = join(folder, 'model.safetensors')
    const length = Buffer.alloc(8)
    length.writeBigUInt64LE(50_000_000n)
    writeFileSync(weights, Buffer.concat([length, Buffer.from('{}')]))
    const validation = await invoke('models.validate', { path: folder }, ctx)
    expect(validation.errors).toEqual([
      `safetensors: ${weights}: header length 50000000 runs past the end of the 10-byte file`
    ])
  })

  it('accepts stories260K, checked in a job worker while this thread keeps answering a timer', async () => {
    const order: string[] = []
    const timer = new Promise<void>((resolve) =>
      setTimeout(() => {
        order.push('timer')
        resolve()
      }, 0)
    )
    // A check on this thread would finish within the call's own promise chain, before any timer.
    const validated = invoke('models.validate', { path: STORIES_260K }, ctx).then((validation) => {
      order.push('validated')
      return validation
    })
    await timer
    expect(await validated).toMatchObject({
      ok: true,
      architecture: 'LlamaForCausalLM',
      parameterCount: 260_032
    })
    expect(order).toEqual(['timer', 'validated'])
    expect(ctx.jobs.list()).toContainEqual(
      expect.objectContaining({ kind: 'model.validate', status: 'completed' })
    )
  })
})
