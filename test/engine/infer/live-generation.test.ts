/**
 * Generation on live weights (GRPO's rollouts): the trained tensors are graph inputs. On the real
 * stories260K, greedy completions with a LoRA fed at run time equal those of the same adapter
 * merged into the weights (Generator on the adapter folder), and with full fine-tuning's trained
 * parameters fed, those of a checkpoint written with the same values; G rows sample from their
 * own seeded streams.
 */
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readModelConfig } from '../../../src-main/engine/checkpoint/hf-config'
import {
  loraModules,
  loraScaling,
  peftTensorName,
  writeLoraAdapter,
  type LoraConfig
} from '../../../src-main/engine/checkpoint/peft'
import { openCheckpoint } from '../../../src-main/engine/checkpoint/safetensors'
import { writeSafetensors } from '../../../src-main/engine/checkpoint/safetensors-write'
import { encodePrompt, Generator } from '../../../src-main/engine/infer/generation'
import { LiveGenerator, type LiveWeights } from '../../../src-main/engine/infer/live-generation'
import { Rng } from '../../../src-main/engine/rng'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { STORIES_260K, tempDir } from '../../helpers/temp'

const config = readModelConfig(STORIES_260K)
const tokenizer = loadTokenizer(STORIES_260K)
const prompt = encodePrompt(tokenizer, config, 'Once upon a time')
const GREEDY = { temperature: 0, maxNewTokens: 24, seed: 0 }
const NO_TEXT = { decode: () => '' }

function randomValues(rng: Rng, count: number, scale: number): Float32Array {
  return Float32Array.from({ length: count }, () => (rng.float() * 2 - 1) * scale)
}

async function greedyOf(generator: Generator): Promise<number[]> {
  const result = await generator.generate(prompt, NO_TEXT, { ...GREEDY, stopAtEos: false })
  return result.tokenIds
}

describe('rollouts on live weights, stories260K', () => {
  const dir = tempDir('fs-live-generation-')
  const options = { cacheDir: join(dir.dir, 'cache'), threads: 1 }
  let base: Generator
  let baseIds: number[]
  beforeAll(async () => {
    base = await Generator.open({ modelDir: STORIES_260K }, options)
    baseIds = await greedyOf(base)
  })
  afterAll(async () => {
    await base.release()
    dir.cleanup()
  })

  it('a LoRA fed at run time generates what the same adapter merged into the weights does', async () => {
    const lora: LoraConfig = {
      r: 4,
      loraAlpha: 8,
      loraDropout: 0,
      targetModules: ['q_proj', 'v_proj'],
      baseModelNameOrPath: null,
      useRslora: false
    }
    const rng = Rng.fromSeed(7)
    const modules = loraModules(config, lora.targetModules).map((module) => ({
      ...module,
      a: randomValues(rng, lora.r * module.inFeatures, 0.5),
      b: randomValues(rng, module.outFeatures * lora.r, 0.5)
    }))
    const adapterDir = join(dir.dir, 'adapter')
    writeLoraAdapter(adapterDir, lora, modules)
    const merged = await Generator.open({ modelDir: STORIES_260K, adapterDir }, options)
    const mergedIds = await greedyOf(merged)
    await merged.release()
    // The adapter changes what the model says, so equality below is not the base model's text.
    expect(mergedIds).not.toEqual(baseIds)

    const live = await LiveGenerator.open(
      { modelDir: STORIES_260K },
      { kind: 'lora', r: lora.r, scaling: loraScaling(lora), modules },
      options
    )
    const weights: LiveWeights = new Map(
      modules.flatMap((module) => [
        [peftTensorName(module.modulePath, 'A'), { shape: [lora.r, module.inFeatures], data: module.a }],
        [peftTensorName(module.modulePath, 'B'), { shape: [module.outFeatures, lora.r], data: module.b }]
      ])
    )
    const greedy = await live.rollouts(prompt, weights, { ...GREEDY, count: 3, eosTokenIds: [] })
    expect(greedy.completions.map((c) => c.tokenIds)).toEqual([mergedIds, mergedIds, mergedIds])
    expect(greedy.generatedTokens).toBe(72)
    expect(greedy.seconds).toBeGreaterThan(0)
    // B = 0 (a fresh LoRA) is the base model.
    const zeroB: LiveWeights = new Map(
      [...weights].map(([name, value]) => [
        name,
        name.includes('lora_B') ? { ...value, data: new Float32Array(value.data.length) } : value
      ])
    )
    const fresh = await live.rollouts(prompt, zeroB, { ...GREEDY, count: 1, eosTokenIds: [] })
    expect(fresh.completions[0].tokenIds).toEqual(baseIds)
    await expect(live.rollouts(prompt, new Map(), { ...GREEDY, count: 1 })).rejects.toThrow(
      /no value fed for the trained tensor base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight/
    )
    await live.release()
  })

  it('full fine-tuning: the trained parameters fed generate what a checkpoint with them does', async () => {
    const trained = ['model.layers.0.self_attn.q_proj.weight', 'model.layers.1.mlp.down_proj.weight']
    const checkpoint = openCheckpoint(STORIES_260K)
    const rng = Rng.fromSeed(11)
    const changed = new Map(
      trained.map((name) => {
        const data = checkpoint.readFloat32(name).map((v) => v + (rng.float() * 2 - 1) * 0.2)
        return [name, { shape: checkpoint.info(name).shape, data }]
      })
    )
    // The same values written as a model folder, for the ordinary generator.
    const modelDir = join(dir.dir, 'changed-model')
    mkdirSync(modelDir)
    for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
      copyFileSync(join(STORIES_260K, file), join(modelDir, file))
    }
    writeSafetensors(
      join(modelDir, 'model.safetensors'),
      checkpoint.names().map((name) => ({
        name,
        dtype: 'F32' as const,
        shape: checkpoint.info(name).shape,
        data: changed.get(name)?.data ?? checkpoint.readFloat32(name)
      }))
    )
    checkpoint.close()
    const reference = await Generator.open({ modelDir }, options)
    const referenceIds = await greedyOf(reference)
    await reference.release()
    expect(referenceIds).not.toEqual(baseIds)

    const live = await LiveGenerator.open(
      { modelDir: STORIES_260K },
      { kind: 'full', names: trained },
      options
    )
    const result = await live.rollouts(prompt, changed, { ...GREEDY, count: 2, eosTokenIds: [] })
    expect(result.completions.map((c) => c.tokenIds)).toEqual([referenceIds, referenceIds])
    await live.release()
  })

  it('samples each row from its own seeded stream: reproducible, rows differ, ended rows stop', async () => {
    const live = await LiveGenerator.open(
      { modelDir: STORIES_260K },
      { kind: 'full', names: ['model.norm.weight'] },
      options
    )
    const checkpoint = openCheckpoint(STORIES_260K)
    const norm: LiveWeights = new Map([
      ['model.norm.weight', { shape: [config.hiddenSize], data: checkpoint.readFloat32('model.norm.weight') }]
    ])
    checkpoint.close()
    const sampling = { temperature: 1, topP: 0.95, maxNewTokens: 40, count: 4 }
    const first = await live.rollouts(prompt, norm, { ...sampling, seed: 3 })
    const again = await live.rollouts(prompt, norm, { ...sampling, seed: 3 })
    const other = await live.rollouts(prompt, norm, { ...sampling, seed: 4 })
    const ids = (r: typeof first) => r.completions.map((c) => c.tokenIds)
    expect(ids(again)).toEqual(ids(first))
    expect(ids(other)).not.toEqual(ids(first))
    expect(new Set(ids(first).map((row) => row.join(','))).size).toBeGreaterThan(1)
    // Row i's stream does not depend on how many rows there are.
    const two = await live.rollouts(prompt, norm, { ...sampling, count: 2, seed: 3 })
    expect(ids(two)).toEqual(ids(first).slice(0, 2))
    for (const completion of first.completions) {
      const eosAt = completion.tokenIds.findIndex((id) => config.eosTokenIds.includes(id))
      if (eosAt >= 0) {
        expect(completion.finishReason).toBe('eos')
        expect(completion.tokenIds).toHaveLength(eosAt + 1)
      } else expect(completion.finishReason).toBe('length')
    }
    await live.release()
  })
})
