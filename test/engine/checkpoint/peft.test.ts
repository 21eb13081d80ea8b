import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readModelConfig } from '../../../src-main/engine/checkpoint/hf-config'
import {
  loraModules,
  loraScaling,
  parseLoraConfig,
  parsePeftTensorName,
  readLoraAdapter,
  writeLoraAdapter,
  type LoraConfig,
  type LoraModuleWeights
} from '../../../src-main/engine/checkpoint/peft'
import { openSafetensors } from '../../../src-main/engine/checkpoint/safetensors'
import { writeSafetensors } from '../../../src-main/engine/checkpoint/safetensors-write'

const stories = readModelConfig('/work/shared/models/stories260K')

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'peft-test-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

const config: LoraConfig = {
  r: 4,
  loraAlpha: 8,
  loraDropout: 0.05,
  targetModules: ['q_proj', 'v_proj'],
  baseModelNameOrPath: 'stories260K',
  useRslora: false
}

function filled(count: number, seed: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => (((i * 7 + seed) % 13) - 6) / 8)
}

function weightsFor(loraConfig: LoraConfig): LoraModuleWeights[] {
  return loraModules(stories, loraConfig.targetModules).map((module, i) => ({
    ...module,
    a: filled(loraConfig.r * module.inFeatures, i),
    b: filled(module.outFeatures * loraConfig.r, i + 100)
  }))
}

describe('LoRA adapters in PEFT layout', () => {
  it('lists the adapted layers of a model with their dimensions', () => {
    const modules = loraModules(stories, ['q_proj', 'v_proj', 'down_proj'])
    expect(modules.length).toBe(15)
    expect(modules.slice(0, 3)).toEqual([
      { modulePath: 'model.layers.0.self_attn.q_proj', inFeatures: 64, outFeatures: 64 },
      { modulePath: 'model.layers.0.self_attn.v_proj', inFeatures: 64, outFeatures: 32 },
      { modulePath: 'model.layers.0.mlp.down_proj', inFeatures: 172, outFeatures: 64 }
    ])
  })

  it('writes PEFT key names, shapes [r, in] / [out, r], and an adapter_config.json PEFT reads', () => {
    const modules = weightsFor(config)
    writeLoraAdapter(dir, config, modules)

    const file = openSafetensors(join(dir, 'adapter_model.safetensors'))
    try {
      expect(file.metadata).toEqual({ format: 'pt' })
      expect(file.names().slice(0, 4)).toEqual([
        'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
        'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
        'base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight',
        'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight'
      ])
      expect(file.names().length).toBe(20)
      expect(file.info('base_model.model.model.layers.4.self_attn.q_proj.lora_A.weight').shape).toEqual([
        4, 64
      ])
      expect(file.info('base_model.model.model.layers.4.self_attn.v_proj.lora_B.weight').shape).toEqual([
        32, 4
      ])
      expect(file.info('base_model.model.model.layers.4.self_attn.v_proj.lora_B.weight').dtype).toBe('F32')
    } finally {
      file.close()
    }

    const json = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'))
    expect(json).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 8,
      lora_dropout: 0.05,
      target_modules: ['q_proj', 'v_proj'],
      base_model_name_or_path: 'stories260K',
      bias: 'none',
      fan_in_fan_out: false,
      use_rslora: false,
      use_dora: false,
      modules_to_save: null
    })
  })

  it('reads back what it wrote, checked against the model', () => {
    const modules = weightsFor(config)
    writeLoraAdapter(dir, config, modules, { dtype: 'F32' })
    const adapter = readLoraAdapter(dir, stories)
    expect(adapter.config).toEqual(config)
    expect(adapter.modules.map((m) => m.modulePath)).toEqual(modules.map((m) => m.modulePath))
    adapter.modules.forEach((module, i) => {
      expect(Array.from(module.a)).toEqual(Array.from(modules[i].a))
      expect(Array.from(module.b)).toEqual(Array.from(modules[i].b))
    })
  })

  it('reads a bfloat16 adapter written by another tool, with target_modules "all-linear" and rsLoRA', () => {
    const module = loraModules(stories, ['o_proj'])[0]
    writeSafetensors(join(dir, 'adapter_model.safetensors'), [
      {
        name: `base_model.model.${module.modulePath}.lora_A.weight`,
        dtype: 'BF16',
        shape: [2, 64],
        data: new Array(128).fill(0.5)
      },
      {
        name: `base_model.model.${module.modulePath}.lora_B.weight`,
        dtype: 'BF16',
        shape: [64, 2],
        data: new Array(128).fill(-2.5)
      }
    ])
    writeFileSync(
      join(dir, 'adapter_config.json'),
      JSON.stringify({
        peft_type: 'LORA',
        r: 2,
        lora_alpha: 16,
        target_modules: 'all-linear',
        use_rslora: true
      })
    )
    const adapter = readLoraAdapter(dir)
    expect(adapter.config.targetModules).toEqual([
      'q_proj',
      'k_proj',
      'v_proj',
      'o_proj',
      'gate_proj',
      'up_proj',
      'down_proj'
    ])
    expect(loraScaling(adapter.config)).toBeCloseTo(16 / Math.sqrt(2), 12)
    expect(adapter.modules).toHaveLength(1)
    expect(adapter.modules[0]).toMatchObject({
      modulePath: 'model.layers.0.self_attn.o_proj',
      inFeatures: 64,
      outFeatures: 64
    })
    expect(adapter.modules[0].b[0]).toBe(-2.5)
    // Checked against the model, the adapter lacks most of the layers "all-linear" selects.
    expect(() => readLoraAdapter(dir, stories)).toThrow(
      'no weights for model.layers.0.self_attn.q_proj, which target_modules selects'
    )
  })

  it('names the tensor whose rank disagrees with r', () => {
    writeLoraAdapter(dir, config, weightsFor(config))
    const json = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'))
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...json, r: 8 }))
    expect(() => readLoraAdapter(dir)).toThrow(
      'tensor "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" has shape [4, 64], expected [r=8, in]'
    )
  })

  it('scales by alpha / r', () => {
    expect(loraScaling(config)).toBe(2)
  })

  it('refuses PEFT options the engine does not implement', () => {
    const base = { peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj'] }
    expect(() => parseLoraConfig({ ...base, use_dora: true }, 'a/adapter_config.json')).toThrow(
      'LoRA adapter config a/adapter_config.json: use_dora is not supported'
    )
    expect(() => parseLoraConfig({ ...base, target_modules: ['embed_tokens'] })).toThrow(
      'target module "embed_tokens" is not supported'
    )
    expect(() => parseLoraConfig({ ...base, peft_type: 'IA3' })).toThrow(
      'peft_type must be "LORA", got "IA3"'
    )
  })

  it('parses PEFT tensor names back to module paths', () => {
    expect(parsePeftTensorName('base_model.model.model.layers.3.mlp.up_proj.lora_B.weight')).toEqual({
      modulePath: 'model.layers.3.mlp.up_proj',
      matrix: 'B'
    })
    expect(
      parsePeftTensorName('base_model.model.model.layers.3.mlp.up_proj.lora_magnitude_vector')
    ).toBeNull()
  })
})
