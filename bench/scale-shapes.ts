/**
 * The model shapes bench/scale.ts trains: HF configs of real models (from their config.json on the
 * Hugging Face Hub), filled with random weights. SmolLM-135M is the other benchmarks' float32 model;
 * the bigger shapes are written in bfloat16, half the disk and write time (the engine widens it).
 */
import { join } from 'node:path'
import { BENCH_DIR, benchPaths, smolLm135mConfig, type RandomWeightsDtype } from './bench-model'

/** Llama 3's RoPE frequency scaling (both Llama shapes' configs carry it; only `factor` differs). */
function llama3RopeScaling(factor: number) {
  return {
    rope_type: 'llama3',
    factor,
    low_freq_factor: 1,
    high_freq_factor: 4,
    original_max_position_embeddings: 8192
  }
}

/** A quick run keeps 2 layers of each shape (its widths and vocabulary stay). */
const QUICK_LAYERS = 2

interface ShapeDefinition {
  /** As the table prints it. */
  label: string
  /** The full shape's HF config.json. */
  config: Record<string, unknown>
}

const QWEN2 = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_act: 'silu',
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  max_position_embeddings: 32768,
  vocab_size: 151936,
  tie_word_embeddings: true,
  bos_token_id: 151643,
  eos_token_id: 151643
}

const LLAMA3 = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_act: 'silu',
  rms_norm_eps: 1e-5,
  rope_theta: 500000.0,
  max_position_embeddings: 131072,
  vocab_size: 128256,
  bos_token_id: 128000,
  eos_token_id: 128001
}

const SHAPES = {
  'smollm-135m': { label: 'SmolLM-135M', config: smolLm135mConfig(false) },
  'qwen2.5-0.5b': {
    label: 'Qwen2.5-0.5B',
    config: {
      ...QWEN2,
      hidden_size: 896,
      intermediate_size: 4864,
      num_hidden_layers: 24,
      num_attention_heads: 14,
      num_key_value_heads: 2
    }
  },
  'llama-3.2-1b': {
    label: 'Llama-3.2-1B',
    config: {
      ...LLAMA3,
      hidden_size: 2048,
      intermediate_size: 8192,
      num_hidden_layers: 16,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      head_dim: 64,
      rope_scaling: llama3RopeScaling(32),
      tie_word_embeddings: true
    }
  },
  'qwen2.5-3b': {
    label: 'Qwen2.5-3B',
    config: {
      ...QWEN2,
      hidden_size: 2048,
      intermediate_size: 11008,
      num_hidden_layers: 36,
      num_attention_heads: 16,
      num_key_value_heads: 2
    }
  },
  'llama-3.1-8b': {
    label: 'Llama-3.1-8B',
    config: {
      ...LLAMA3,
      hidden_size: 4096,
      intermediate_size: 14336,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      rope_scaling: llama3RopeScaling(8),
      tie_word_embeddings: false
    }
  }
} satisfies Record<string, ShapeDefinition>

export type ShapeName = keyof typeof SHAPES
export const SHAPE_NAMES = Object.keys(SHAPES) as ShapeName[]

export function isShapeName(name: string): name is ShapeName {
  return Object.hasOwn(SHAPES, name)
}

export interface BenchShape {
  name: ShapeName
  label: string
  /** The config written to the model folder (2 layers in a quick run). */
  config: Record<string, unknown>
  vocabSize: number
  modelDir: string
  dtype: RandomWeightsDtype
}

/** The shape as a run uses it: its config, its folder under the benchmarks' temp folder, its dtype. */
export function benchShape(name: ShapeName, quick: boolean): BenchShape {
  const { label, config } = SHAPES[name]
  const vocabSize = config.vocab_size
  if (name === 'smollm-135m') {
    return {
      name,
      label,
      config: smolLm135mConfig(quick),
      vocabSize,
      modelDir: benchPaths(quick).modelDir,
      dtype: 'F32'
    }
  }
  return {
    name,
    label,
    config: quick ? { ...config, num_hidden_layers: QUICK_LAYERS } : config,
    vocabSize,
    modelDir: join(BENCH_DIR, quick ? `${name}-quick` : name),
    dtype: 'BF16'
  }
}
