/**
 * An HF model folder's `config.json`, read, validated and normalised into the few numbers the
 * engine builds a model from. Only architectures the engine implements are accepted; everything
 * else fails here, by name, before any graph is built. What the numbers imply lives elsewhere: the
 * checkpoint's tensors in hf-layout.ts, the RoPE frequencies in models/rope.ts.
 */
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

export const SUPPORTED_ARCHITECTURES = [
  'LlamaForCausalLM',
  'MistralForCausalLM',
  'Qwen2ForCausalLM',
  'Qwen3ForCausalLM'
] as const
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number]

/** Llama 3.1's frequency-dependent RoPE scaling (`rope_type: "llama3"`). */
export interface Llama3RopeScaling {
  type: 'llama3'
  factor: number
  lowFreqFactor: number
  highFreqFactor: number
  originalMaxPositionEmbeddings: number
}

export interface ModelConfig {
  architecture: Architecture
  modelType: string
  vocabSize: number
  hiddenSize: number
  intermediateSize: number
  numLayers: number
  numHeads: number
  numKvHeads: number
  /** `head_dim` when the config gives one (Qwen3 does, and it differs from hidden/heads), else hidden/heads. */
  headDim: number
  rmsNormEps: number
  ropeTheta: number
  ropeScaling: Llama3RopeScaling | null
  maxPositionEmbeddings: number
  tieWordEmbeddings: boolean
  /** q/k/v projections carry a bias (always for Qwen2; `attention_bias` for Llama and Qwen3). */
  attentionBias: boolean
  /** o_proj carries a bias (`attention_bias` for Llama and Qwen3; never for Qwen2 and Mistral). */
  attentionOutputBias: boolean
  /** gate/up/down projections carry a bias (Llama's `mlp_bias`). */
  mlpBias: boolean
  /** RMSNorm over each head's queries and keys before RoPE (Qwen3). */
  qkNorm: boolean
  /** Mistral's sliding attention window, or null for full attention. */
  slidingWindow: number | null
  bosTokenId: number | null
  eosTokenIds: number[]
  padTokenId: number | null
  torchDtype: string | null
  /** The config.json object as read, for provenance. */
  raw: Record<string, unknown>
}

interface ArchitectureDefaults {
  modelType: string
  rmsNormEps: number
  ropeTheta: number
  maxPositionEmbeddings: number
}

/** Defaults of the transformers config classes, for keys a config.json leaves out. */
const DEFAULTS: Record<Architecture, ArchitectureDefaults> = {
  LlamaForCausalLM: { modelType: 'llama', rmsNormEps: 1e-6, ropeTheta: 10000, maxPositionEmbeddings: 2048 },
  MistralForCausalLM: {
    modelType: 'mistral',
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    maxPositionEmbeddings: 4096 * 32
  },
  Qwen2ForCausalLM: { modelType: 'qwen2', rmsNormEps: 1e-6, ropeTheta: 10000, maxPositionEmbeddings: 32768 },
  Qwen3ForCausalLM: { modelType: 'qwen3', rmsNormEps: 1e-6, ropeTheta: 10000, maxPositionEmbeddings: 32768 }
}

/**
 * The largest value config.json may give each size. Every limit is far above all released models
 * of the supported architectures (the largest, Llama 3.1 405B: hidden 16384, intermediate 53248,
 * 126 layers, 128 heads, 131072 positions; the largest vocabulary, Gemma's, 262144 tokens), and
 * low enough that whatever is derived from a config before its weights are compared with it
 * (parameter counts, tensor lists, RoPE tables) stays small: a config beyond them is broken or
 * hostile, and is refused before anything is built from it.
 */
export const CONFIG_LIMITS = {
  /** 4× the widest released model. */
  hidden_size: 65_536,
  /** 4× hidden_size's limit: MLPs are at most a few times as wide as the model. */
  intermediate_size: 262_144,
  /** 8× the deepest released model; per-layer structures (tensor lists, graphs) scale with it. */
  num_hidden_layers: 1024,
  num_attention_heads: 1024,
  num_key_value_heads: 1024,
  /** Released models use 64–256. */
  head_dim: 1024,
  /** 16× the largest released vocabulary. */
  vocab_size: 1 << 22,
  /** 16× Llama 3.1's context; RoPE tables and masks grow with it. */
  max_position_embeddings: 1 << 21,
  sliding_window: 1 << 21,
  'rope_scaling.original_max_position_embeddings': 1 << 21,
  /** Released models use 1e4–1e7; a larger base makes every rotation a no-op. */
  rope_theta: 1e12,
  /** Llama 3.1 uses 8; the factor divides positions, so a huge one makes them all alike. */
  'rope_scaling.factor': 1024,
  'rope_scaling.low_freq_factor': 1024,
  'rope_scaling.high_freq_factor': 1024,
  /** Released models use 1e-6–1e-5; a larger epsilon swamps the activations it normalises. */
  rms_norm_eps: 1
} as const
type LimitedKey = keyof typeof CONFIG_LIMITS

/** Real config.json files are a few kilobytes; a larger one is not read into memory. */
export const MAX_CONFIG_BYTES = 1 << 20

function isArchitecture(name: unknown): name is Architecture {
  return typeof name === 'string' && (SUPPORTED_ARCHITECTURES as readonly string[]).includes(name)
}

/** Reads `<dir>/config.json`. */
export function readModelConfig(dir: string): ModelConfig {
  const path = join(dir, 'config.json')
  let text: string
  try {
    const bytes = statSync(path).size
    if (bytes > MAX_CONFIG_BYTES) {
      throw new Error(`the file is ${bytes} bytes, more than the ${MAX_CONFIG_BYTES} a model config may have`)
    }
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new Error(`readModelConfig: cannot read ${path}: ${(error as Error).message}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new Error(`readModelConfig: ${path} is not valid JSON: ${(error as Error).message}`)
  }
  return parseModelConfig(raw, path)
}

/** Normalises a parsed config.json; `source` names the file in error messages. */
export function parseModelConfig(raw: unknown, source = 'config.json'): ModelConfig {
  const fail = (message: string): never => {
    throw new Error(`model config ${source}: ${message}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('not a JSON object')
  const config = raw as Record<string, unknown>

  const architectures = config.architectures
  if (!Array.isArray(architectures) || architectures.length === 0) {
    fail(`"architectures" must name the model class, one of ${SUPPORTED_ARCHITECTURES.join(', ')}`)
  }
  const architecture = (architectures as unknown[])[0]
  if (!isArchitecture(architecture)) {
    fail(
      `architecture ${JSON.stringify(architecture)} is not supported; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`
    )
  }
  const arch = architecture as Architecture
  const defaults = DEFAULTS[arch]

  const positiveInteger = (key: LimitedKey, fallback?: number): number =>
    checkPositiveInteger(key, config[key] ?? fallback, fail)
  const positiveNumber = (key: LimitedKey, fallback: number): number =>
    checkPositiveNumber(key, config[key] ?? fallback, fail)
  const flag = (key: string, fallback: boolean): boolean => {
    const value = config[key] ?? fallback
    if (typeof value !== 'boolean') fail(`"${key}" must be true or false, got ${JSON.stringify(value)}`)
    return value as boolean
  }
  const tokenId = (key: string): number | null => {
    const value = config[key]
    if (value === undefined || value === null) return null
    if (!Number.isSafeInteger(value) || (value as number) < 0) {
      fail(`"${key}" must be a token id, got ${JSON.stringify(value)}`)
    }
    return value as number
  }

  const hiddenSize = positiveInteger('hidden_size')
  const numHeads = positiveInteger('num_attention_heads')
  const numKvHeads = positiveInteger('num_key_value_heads', numHeads)
  if (numHeads % numKvHeads !== 0) {
    fail(`num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`)
  }
  if (config.head_dim == null && hiddenSize % numHeads !== 0) {
    fail(
      `hidden_size (${hiddenSize}) is not divisible by num_attention_heads (${numHeads}) and no head_dim is given`
    )
  }
  const headDim = positiveInteger('head_dim', hiddenSize / numHeads)
  if (headDim % 2 !== 0) fail(`head_dim must be even for rotary embeddings, got ${headDim}`)

  const hiddenAct = config.hidden_act ?? 'silu'
  if (hiddenAct !== 'silu') {
    fail(`hidden_act ${JSON.stringify(hiddenAct)} is not supported; the engine implements silu`)
  }

  const isQwen = arch === 'Qwen2ForCausalLM' || arch === 'Qwen3ForCausalLM'
  if (isQwen && config.use_sliding_window === true) {
    fail('use_sliding_window is true; per-layer sliding-window attention is not supported')
  }
  // Mistral and Qwen2 fix their attention biases in code; Llama and Qwen3 read attention_bias.
  const configuredAttentionBias =
    arch === 'LlamaForCausalLM' || arch === 'Qwen3ForCausalLM' ? flag('attention_bias', false) : false

  const rope = ropeSettings(config, defaults.ropeTheta, fail)
  return {
    architecture: arch,
    modelType: typeof config.model_type === 'string' ? config.model_type : defaults.modelType,
    vocabSize: positiveInteger('vocab_size'),
    hiddenSize,
    intermediateSize: positiveInteger('intermediate_size'),
    numLayers: positiveInteger('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: positiveNumber('rms_norm_eps', defaults.rmsNormEps),
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    maxPositionEmbeddings: positiveInteger('max_position_embeddings', defaults.maxPositionEmbeddings),
    tieWordEmbeddings: flag('tie_word_embeddings', false),
    attentionBias: arch === 'Qwen2ForCausalLM' || configuredAttentionBias,
    attentionOutputBias: configuredAttentionBias,
    mlpBias: arch === 'LlamaForCausalLM' ? flag('mlp_bias', false) : false,
    qkNorm: arch === 'Qwen3ForCausalLM',
    slidingWindow:
      arch === 'MistralForCausalLM' && config.sliding_window != null
        ? positiveInteger('sliding_window')
        : null,
    bosTokenId: tokenId('bos_token_id'),
    eosTokenIds: eosTokenIds(config.eos_token_id, fail),
    padTokenId: tokenId('pad_token_id'),
    torchDtype:
      typeof config.torch_dtype === 'string'
        ? config.torch_dtype
        : typeof config.dtype === 'string'
          ? config.dtype
          : null,
    raw: config
  }
}

/**
 * A config value as a message shows it: numbers as JavaScript holds them (JSON.parse reads 1e400
 * as Infinity, which JSON.stringify would show as null), anything else as JSON.
 */
function shown(value: unknown): string {
  if (value === undefined) return 'nothing'
  return typeof value === 'number' ? String(value) : JSON.stringify(value)
}

/** `value` as a size no larger than the key's limit. */
function checkPositiveInteger(key: LimitedKey, value: unknown, fail: (message: string) => never): number {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) {
    fail(`"${key}" must be a positive integer, got ${shown(value)}`)
  }
  return withinLimit(key, value as number, fail)
}

/** `value` as a finite number no larger than the key's limit. */
function checkPositiveNumber(key: LimitedKey, value: unknown, fail: (message: string) => never): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !(value > 0)) {
    fail(`"${key}" must be a positive number, got ${shown(value)}`)
  }
  return withinLimit(key, value as number, fail)
}

function withinLimit(key: LimitedKey, value: number, fail: (message: string) => never): number {
  const limit = CONFIG_LIMITS[key]
  if (value > limit) {
    fail(`"${key}" is ${value}, beyond the limit of ${limit} (no supported model comes near it)`)
  }
  return value
}

function eosTokenIds(value: unknown, fail: (message: string) => never): number[] {
  if (value === undefined || value === null) return []
  const ids = Array.isArray(value) ? value : [value]
  if (!ids.every((id) => Number.isSafeInteger(id) && id >= 0)) {
    fail(`"eos_token_id" must be a token id or a list of them, got ${JSON.stringify(value)}`)
  }
  return ids as number[]
}

/**
 * RoPE base and scaling. Older configs say `rope_theta` + `rope_scaling: {rope_type | type, …}`;
 * transformers 5 writes both into `rope_parameters`. `rope_type: "default"` means no scaling.
 */
function ropeSettings(
  config: Record<string, unknown>,
  defaultTheta: number,
  fail: (message: string) => never
): { theta: number; scaling: Llama3RopeScaling | null } {
  const parameters = config.rope_parameters as Record<string, unknown> | null | undefined
  const scaling = (parameters ?? config.rope_scaling) as Record<string, unknown> | null | undefined
  if (
    parameters !== undefined &&
    parameters !== null &&
    (typeof parameters !== 'object' || Array.isArray(parameters))
  ) {
    fail(`"rope_parameters" must be an object or null, got ${JSON.stringify(parameters)}`)
  }
  const theta = checkPositiveNumber(
    'rope_theta',
    parameters?.rope_theta ?? config.rope_theta ?? defaultTheta,
    fail
  )
  if (scaling === undefined || scaling === null) return { theta, scaling: null }
  if (typeof scaling !== 'object' || Array.isArray(scaling)) {
    fail(`"rope_scaling" must be an object or null, got ${JSON.stringify(scaling)}`)
  }
  const type = scaling.rope_type ?? scaling.type ?? 'default'
  if (type === 'default') return { theta, scaling: null }
  if (type !== 'llama3') {
    fail(`rope_scaling type ${JSON.stringify(type)} is not supported; supported: llama3 (or none)`)
  }
  const number = (key: 'factor' | 'low_freq_factor' | 'high_freq_factor'): number =>
    checkPositiveNumber(`rope_scaling.${key}`, scaling[key], fail)
  const result: Llama3RopeScaling = {
    type: 'llama3',
    factor: number('factor'),
    lowFreqFactor: number('low_freq_factor'),
    highFreqFactor: number('high_freq_factor'),
    originalMaxPositionEmbeddings: checkPositiveInteger(
      'rope_scaling.original_max_position_embeddings',
      scaling.original_max_position_embeddings,
      fail
    )
  }
  if (!(result.highFreqFactor > result.lowFreqFactor)) {
    fail(
      `rope_scaling.high_freq_factor (${result.highFreqFactor}) must exceed low_freq_factor (${result.lowFreqFactor})`
    )
  }
  return { theta, scaling: result }
}
