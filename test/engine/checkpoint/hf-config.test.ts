import { truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  CONFIG_LIMITS,
  MAX_CONFIG_BYTES,
  parseModelConfig,
  readModelConfig,
  type ModelConfig
} from '../../../src-main/engine/checkpoint/hf-config'
import {
  assertCheckpointMatchesConfig,
  assertWeightsCanHoldConfig,
  checkCheckpointTensors,
  expectedTensors,
  parameterCount
} from '../../../src-main/engine/checkpoint/hf-layout'
import { ropeInverseFrequencies } from '../../../src-main/engine/models/rope'
import { elementCount, openCheckpoint } from '../../../src-main/engine/checkpoint/safetensors'
import { tempDir } from '../../helpers/temp'

const STORIES = '/work/shared/models/stories260K'

// Abridged from the published config.json files of each model.
const LLAMA_31_8B = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: 128256,
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_theta: 500000.0,
  rope_scaling: {
    factor: 8.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3'
  },
  max_position_embeddings: 131072,
  tie_word_embeddings: false,
  attention_bias: false,
  mlp_bias: false,
  hidden_act: 'silu',
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  torch_dtype: 'bfloat16'
}

const MISTRAL_7B = {
  architectures: ['MistralForCausalLM'],
  model_type: 'mistral',
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  max_position_embeddings: 32768,
  sliding_window: 4096,
  tie_word_embeddings: false,
  hidden_act: 'silu',
  bos_token_id: 1,
  eos_token_id: 2,
  torch_dtype: 'bfloat16'
}

const QWEN2_05B = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  vocab_size: 151936,
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  max_position_embeddings: 32768,
  sliding_window: 32768,
  use_sliding_window: false,
  max_window_layers: 21,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  bos_token_id: 151643,
  eos_token_id: 151645,
  torch_dtype: 'bfloat16'
}

const QWEN3_06B = {
  architectures: ['Qwen3ForCausalLM'],
  model_type: 'qwen3',
  vocab_size: 151936,
  hidden_size: 1024,
  intermediate_size: 3072,
  num_hidden_layers: 28,
  num_attention_heads: 16,
  num_key_value_heads: 8,
  head_dim: 128,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  rope_scaling: null,
  max_position_embeddings: 40960,
  attention_bias: false,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  bos_token_id: 151643,
  eos_token_id: 151645,
  torch_dtype: 'bfloat16'
}

function small(base: Record<string, unknown>, overrides: Record<string, unknown> = {}): ModelConfig {
  const tiny = {
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    vocab_size: 10,
    num_attention_heads: 4,
    num_key_value_heads: 2
  }
  return parseModelConfig({ ...base, ...tiny, ...overrides })
}

describe('parseModelConfig', () => {
  it('reads Llama 3.1 with its rope scaling and list of eos ids', () => {
    const config = parseModelConfig(LLAMA_31_8B)
    expect(config).toMatchObject({
      architecture: 'LlamaForCausalLM',
      vocabSize: 128256,
      hiddenSize: 4096,
      intermediateSize: 14336,
      numLayers: 32,
      numHeads: 32,
      numKvHeads: 8,
      headDim: 128,
      rmsNormEps: 1e-5,
      ropeTheta: 500000,
      ropeScaling: {
        type: 'llama3',
        factor: 8,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositionEmbeddings: 8192
      },
      maxPositionEmbeddings: 131072,
      tieWordEmbeddings: false,
      attentionBias: false,
      attentionOutputBias: false,
      qkNorm: false,
      bosTokenId: 128000,
      eosTokenIds: [128001, 128008, 128009],
      padTokenId: null,
      torchDtype: 'bfloat16'
    })
  })

  it('reads Mistral with its sliding window', () => {
    const config = parseModelConfig(MISTRAL_7B)
    expect(config).toMatchObject({
      architecture: 'MistralForCausalLM',
      slidingWindow: 4096,
      attentionBias: false,
      eosTokenIds: [2]
    })
  })

  it('gives Qwen2 q/k/v biases but no o_proj bias', () => {
    const config = parseModelConfig(QWEN2_05B)
    expect(config).toMatchObject({
      headDim: 64,
      attentionBias: true,
      attentionOutputBias: false,
      tieWordEmbeddings: true
    })
    const names = expectedTensors(config).map((t) => t.name)
    expect(names).toContain('model.layers.0.self_attn.q_proj.bias')
    expect(names).toContain('model.layers.23.self_attn.v_proj.bias')
    expect(names).not.toContain('model.layers.0.self_attn.o_proj.bias')
    expect(names).not.toContain('lm_head.weight')
  })

  it('takes Qwen3 head_dim from the config even though it differs from hidden/heads, and adds q/k norms', () => {
    const config = parseModelConfig(QWEN3_06B)
    expect(config).toMatchObject({ headDim: 128, qkNorm: true, attentionBias: false, ropeScaling: null })
    const shapes = new Map(expectedTensors(config).map((t) => [t.name, t.shape]))
    expect(shapes.get('model.layers.0.self_attn.q_proj.weight')).toEqual([16 * 128, 1024])
    expect(shapes.get('model.layers.0.self_attn.k_proj.weight')).toEqual([8 * 128, 1024])
    expect(shapes.get('model.layers.0.self_attn.o_proj.weight')).toEqual([1024, 16 * 128])
    expect(shapes.get('model.layers.27.self_attn.q_norm.weight')).toEqual([128])
    expect(shapes.get('model.layers.27.self_attn.k_norm.weight')).toEqual([128])
    // Qwen3-0.6B's model card: 0.6B parameters, 0.44B without embeddings. Here: 28 layers × 15,730,944
    // + 1024 final norm = 440,467,456, plus 151,936 × 1024 tied embeddings counted once.
    expect(parameterCount(config)).toBe(596_049_920)
  })

  it('refuses an unsupported architecture, naming it and the supported ones', () => {
    expect(() =>
      parseModelConfig({ ...LLAMA_31_8B, architectures: ['GPT2LMHeadModel'] }, 'gpt2/config.json')
    ).toThrow(
      'model config gpt2/config.json: architecture "GPT2LMHeadModel" is not supported; supported: ' +
        'LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM'
    )
  })

  it('refuses rope scaling types other than llama3, and accepts "default" as none', () => {
    const yarn = { ...LLAMA_31_8B, rope_scaling: { rope_type: 'yarn', factor: 4 } }
    expect(() => parseModelConfig(yarn)).toThrow(
      'rope_scaling type "yarn" is not supported; supported: llama3'
    )
    const legacyKey = { ...LLAMA_31_8B, rope_scaling: { type: 'linear', factor: 2 } }
    expect(() => parseModelConfig(legacyKey)).toThrow('rope_scaling type "linear" is not supported')
    expect(
      parseModelConfig({ ...LLAMA_31_8B, rope_scaling: { rope_type: 'default' } }).ropeScaling
    ).toBeNull()
  })

  it('reads transformers 5 rope_parameters', () => {
    const { rope_scaling: scaling, rope_theta: _theta, ...rest } = LLAMA_31_8B
    const config = parseModelConfig({ ...rest, rope_parameters: { ...scaling, rope_theta: 500000 } })
    expect(config.ropeTheta).toBe(500000)
    expect(config.ropeScaling?.factor).toBe(8)
  })

  it('names the key and value of a bad field', () => {
    expect(() => parseModelConfig({ ...MISTRAL_7B, hidden_size: '4096' })).toThrow(
      '"hidden_size" must be a positive integer, got "4096"'
    )
    expect(() => parseModelConfig({ ...MISTRAL_7B, num_key_value_heads: 7 })).toThrow(
      'num_attention_heads (32) must be a multiple of num_key_value_heads (7)'
    )
    expect(() => parseModelConfig({ ...MISTRAL_7B, hidden_act: 'gelu' })).toThrow(
      'hidden_act "gelu" is not supported'
    )
    expect(() => parseModelConfig({ ...QWEN2_05B, use_sliding_window: true })).toThrow('use_sliding_window')
  })

  it('names the file when config.json is missing', () => {
    expect(() => readModelConfig('/nonexistent/model')).toThrow(
      'readModelConfig: cannot read /nonexistent/model/config.json'
    )
  })
})

/** LLAMA_31_8B (MISTRAL_7B for its sliding window) with one bounded key, nested ones included, set to `value`. */
function withField(key: keyof typeof CONFIG_LIMITS, value: unknown): Record<string, unknown> {
  if (key === 'sliding_window') return { ...MISTRAL_7B, sliding_window: value }
  if (key.startsWith('rope_scaling.')) {
    const nested = key.slice('rope_scaling.'.length)
    return { ...LLAMA_31_8B, rope_scaling: { ...LLAMA_31_8B.rope_scaling, [nested]: value } }
  }
  return { ...LLAMA_31_8B, [key]: value }
}

const INTEGER_KEYS = Object.keys(CONFIG_LIMITS).filter(
  (key) => !['rope_theta', 'rms_norm_eps'].includes(key) && !/_factor$|\.factor$/.test(key)
) as (keyof typeof CONFIG_LIMITS)[]
const NUMBER_KEYS = (Object.keys(CONFIG_LIMITS) as (keyof typeof CONFIG_LIMITS)[]).filter(
  (key) => !INTEGER_KEYS.includes(key)
)

describe('size limits', () => {
  it('refuses 3,000,000 and 1,000,000 layers by file, key and value', () => {
    const model = tempDir()
    try {
      for (const layers of [3_000_000, 1e6]) {
        writeFileSync(
          join(model.dir, 'config.json'),
          JSON.stringify({ ...LLAMA_31_8B, num_hidden_layers: layers })
        )
        expect(() => readModelConfig(model.dir)).toThrow(
          `model config ${join(model.dir, 'config.json')}: "num_hidden_layers" is ${layers}, beyond the limit of 1024`
        )
      }
    } finally {
      model.cleanup()
    }
  })

  it.each(Object.entries(CONFIG_LIMITS))('accepts %s at its limit and refuses it above', (key, limit) => {
    const field = key as keyof typeof CONFIG_LIMITS
    // At the limit the config may fail other checks (heads vs kv heads, …) but never this key's limit.
    expect(() => parseModelConfig(withField(field, limit))).not.toThrow(`"${key}" is ${limit}`)
    const above = INTEGER_KEYS.includes(field) ? limit + 1 : limit * 2
    expect(() => parseModelConfig(withField(field, above), 'm/config.json')).toThrow(
      `model config m/config.json: "${key}" is ${above}, beyond the limit of ${limit}`
    )
  })

  it.each(
    INTEGER_KEYS.flatMap((key) => [-1, 0, 1.5, NaN, 1e400, '64', true, [64]].map((value) => [key, value]))
  )('refuses %s = %s as not a positive integer', (key, value) => {
    expect(() => parseModelConfig(withField(key as keyof typeof CONFIG_LIMITS, value))).toThrow(
      `"${key}" must be a positive integer`
    )
  })

  it.each(NUMBER_KEYS.flatMap((key) => [-1, 0, NaN, 1e400, '8', [8]].map((value) => [key, value])))(
    'refuses %s = %s as not a positive number',
    (key, value) => {
      expect(() => parseModelConfig(withField(key as keyof typeof CONFIG_LIMITS, value))).toThrow(
        `"${key}" must be a positive number`
      )
    }
  )

  it('shows NaN, Infinity and a missing key as they are', () => {
    expect(() => parseModelConfig({ ...LLAMA_31_8B, hidden_size: NaN })).toThrow(
      '"hidden_size" must be a positive integer, got NaN'
    )
    expect(() => parseModelConfig({ ...LLAMA_31_8B, vocab_size: Infinity })).toThrow(
      '"vocab_size" must be a positive integer, got Infinity'
    )
    const { num_hidden_layers: _layers, ...noLayers } = LLAMA_31_8B
    expect(() => parseModelConfig(noLayers)).toThrow(
      '"num_hidden_layers" must be a positive integer, got nothing'
    )
  })

  it('says Infinity for a number too large for a double, as JSON.parse reads 1e400', () => {
    const model = tempDir()
    try {
      writeFileSync(join(model.dir, 'config.json'), JSON.stringify(LLAMA_31_8B).replace('500000', '1e400'))
      expect(() => readModelConfig(model.dir)).toThrow('"rope_theta" must be a positive number, got Infinity')
    } finally {
      model.cleanup()
    }
  })

  it('refuses a config.json larger than a megabyte without reading it', () => {
    const model = tempDir()
    try {
      const path = join(model.dir, 'config.json')
      writeFileSync(path, '{')
      truncateSync(path, MAX_CONFIG_BYTES + 1)
      expect(() => readModelConfig(model.dir)).toThrow(
        `readModelConfig: cannot read ${path}: the file is ${MAX_CONFIG_BYTES + 1} bytes, more than the ` +
          `${MAX_CONFIG_BYTES} a model config may have`
      )
    } finally {
      model.cleanup()
    }
  })

  it('refuses rope_parameters that are not an object', () => {
    expect(() => parseModelConfig({ ...LLAMA_31_8B, rope_parameters: 7 })).toThrow(
      '"rope_parameters" must be an object or null, got 7'
    )
  })
})

describe('parameterCount', () => {
  it('is the sum of the expected tensors for every layout, without building them', () => {
    const layouts = [
      small(LLAMA_31_8B),
      small(LLAMA_31_8B, { attention_bias: true, mlp_bias: true, tie_word_embeddings: true }),
      small(QWEN2_05B),
      small(QWEN3_06B, { head_dim: 6 }),
      small(MISTRAL_7B)
    ]
    for (const config of layouts) {
      const summed = expectedTensors(config).reduce((sum, t) => sum + elementCount(t.shape), 0)
      expect(parameterCount(config)).toBe(summed)
    }
  })

  it('refuses weights with fewer bytes than the config implies parameters, naming the config', () => {
    const config = parseModelConfig(LLAMA_31_8B)
    expect(() => assertWeightsCanHoldConfig(config, 1_040_128, 'm/config.json')).toThrow(
      'model config m/config.json: implies 8030261248 parameters (32 layers, hidden size 4096, intermediate ' +
        'size 14336, vocabulary 128256), but the weights hold only 1040128 bytes: this config does not ' +
        'describe these weights'
    )
    expect(() => assertWeightsCanHoldConfig(config, 2 * 8_030_261_248, 'm/config.json')).not.toThrow()
  })
})

describe('ropeInverseFrequencies', () => {
  it('is theta^(-2i/d) without scaling', () => {
    const frequencies = ropeInverseFrequencies({ headDim: 8, ropeTheta: 10000, ropeScaling: null })
    const expected = [1, 0.1, 0.01, 0.001]
    expected.forEach((value, i) => expect(Math.abs(frequencies[i] - value) / value).toBeLessThan(1e-12))
  })

  it('matches Llama 3.1 scaling computed independently with PyTorch', () => {
    // Reference: /usr/bin/python3 (PyTorch 1.13, float64), with the three wavelength bands selected by
    // torch.where on wavelength = 2π/θ against 8192/1 and 8192/4.
    const frequencies = ropeInverseFrequencies(parseModelConfig(LLAMA_31_8B))
    expect(frequencies.length).toBe(64)
    const reference: [number, number][] = [
      [0, 1.0], // high frequency: unchanged
      [1, 0.8146172338565447],
      [20, 0.016560440080994446],
      [29, 0.002166570763503359], // the blended band: 29 … 34
      [30, 0.001371893567761138],
      [31, 0.0008567514129196321],
      [32, 0.0005248461609929547],
      [33, 0.00031269375038406517],
      [34, 0.00017850781276799638],
      [40, 3.428102195952591e-5], // low frequency: divided by 8
      [50, 4.411534674558404e-6],
      [63, 3.068925988914511e-7]
    ]
    for (const [i, value] of reference) expect(Math.abs(frequencies[i] - value) / value).toBeLessThan(1e-12)
  })
})

describe('checkpoint layout', () => {
  it('reports missing, unexpected and wrongly shaped tensors by name', () => {
    const config = small(MISTRAL_7B)
    const present = expectedTensors(config)
      .filter((t) => t.name !== 'model.layers.1.mlp.up_proj.weight')
      .map((t) => (t.name === 'model.norm.weight' ? { name: t.name, shape: [17] } : t))
    present.push({ name: 'model.layers.0.self_attn.rotary_emb.inv_freq', shape: [2] })
    present.push({ name: 'model.layers.9.mlp.up_proj.weight', shape: [24, 16] })
    const report = checkCheckpointTensors(config, present)
    expect(report).toEqual({
      ok: false,
      missing: ['model.layers.1.mlp.up_proj.weight'],
      unexpected: ['model.layers.9.mlp.up_proj.weight'],
      shapeMismatches: [{ name: 'model.norm.weight', expected: [16], actual: [17] }],
      ignored: ['model.layers.0.self_attn.rotary_emb.inv_freq']
    })
    const checkpoint = {
      names: () => present.map((t) => t.name),
      info: (n: string) => present.find((t) => t.name === n)!
    }
    expect(() => assertCheckpointMatchesConfig(config, checkpoint, 'tiny')).toThrow(
      'checkpoint tiny does not match its MistralForCausalLM config: missing 1: model.layers.1.mlp.up_proj.weight; ' +
        'unexpected 1: model.layers.9.mlp.up_proj.weight; wrong shape 1: model.norm.weight is [17], expected [16]'
    )
  })

  it('expects lm_head unless embeddings are tied, and Llama biases when attention_bias / mlp_bias say so', () => {
    const untied = expectedTensors(small(LLAMA_31_8B, { rope_scaling: null })).map((t) => t.name)
    expect(untied.at(-1)).toBe('lm_head.weight')
    const biased = expectedTensors(small(LLAMA_31_8B, { attention_bias: true, mlp_bias: true })).map(
      (t) => t.name
    )
    for (const name of ['self_attn.q_proj.bias', 'self_attn.o_proj.bias', 'mlp.down_proj.bias']) {
      expect(biased).toContain(`model.layers.1.${name}`)
    }
  })
})

describe('stories260K', () => {
  it('loads: Llama config, every tensor present with the right shape, 260,032 parameters', () => {
    const config = readModelConfig(STORIES)
    expect(config).toMatchObject({
      architecture: 'LlamaForCausalLM',
      vocabSize: 512,
      hiddenSize: 64,
      intermediateSize: 172,
      numLayers: 5,
      numHeads: 8,
      numKvHeads: 4,
      headDim: 8,
      tieWordEmbeddings: true,
      bosTokenId: 1,
      eosTokenIds: [2]
    })
    const checkpoint = openCheckpoint(STORIES)
    try {
      const present = checkpoint.names().map((name) => ({ name, shape: checkpoint.info(name).shape }))
      expect(checkCheckpointTensors(config, present)).toEqual({
        ok: true,
        missing: [],
        unexpected: [],
        shapeMismatches: [],
        ignored: []
      })
      // 512·64 embeddings + 64 final norm + 5 layers × (q 64·64 + k 32·64 + v 32·64 + o 64·64
      // + 3 × 172·64 MLP + 2 × 64 norms) = 32,768 + 64 + 5 × 45,440 = 260,032, as the README says.
      expect(parameterCount(config)).toBe(260_032)
      expect(present.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0)).toBe(260_032)
      const norm = checkpoint.readFloat32('model.norm.weight')
      expect(norm.length).toBe(64)
      expect(norm.every(Number.isFinite)).toBe(true)
    } finally {
      checkpoint.close()
    }
  })
})
