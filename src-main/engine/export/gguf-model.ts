/**
 * What llama.cpp needs to know about one of our models in a GGUF file: the architecture's metadata
 * keys, each HF tensor's GGUF name, the layout changes its converter (convert_hf_to_gguf.py) makes,
 * and the type each tensor is stored in.
 *
 * - Llama and Mistral are GGUF `llama`; Qwen2 and Qwen3 are `qwen2` / `qwen3`. Mistral's
 *   sliding window has no `llama` key: llama.cpp attends to the whole context, as its converter
 *   leaves it.
 * - `llama` rotates with ggml's "normal" RoPE, which pairs dimensions 2i and 2i+1 of a head, while
 *   HF's rotate-half pairs i and i + d/2. The converter reorders the rows of q_proj and k_proj (and
 *   their biases) head by head so both pair the same values; Qwen uses ggml's NeoX RoPE, which
 *   pairs as HF does, so nothing is reordered.
 * - Llama 3 RoPE scaling is a `rope_freqs.weight` tensor: per frequency, the factor llama.cpp
 *   divides the unscaled frequency by.
 * - Tied embeddings: no `output.weight`; llama.cpp reads `token_embd.weight` for both.
 * - Types: 1-D tensors (norms, biases, rope factors) stay F32, as llama.cpp keeps them. In Q4_0
 *   the output projection is Q8_0 (llama.cpp's quantizer also keeps it finer, in Q6_K). Q4_K_M is
 *   llama.cpp's mix: Q4_K, with Q6_K for the output projection and for attn_v and ffn_down in the
 *   layers usesMoreBits picks. A matrix whose rows are not whole blocks of its type is Q8_0 when
 *   they are whole blocks of 32 (llama.cpp falls back to Q5_0 or Q8_0, which we do not write for
 *   Q4_K), else F16.
 */
import type { ModelConfig } from '../checkpoint/hf-config'
import { expectedTensors } from '../checkpoint/hf-layout'
import { ropeInverseFrequencies } from '../models/rope'
import type { Metadata, MetadataValue } from './gguf-file'
import { blockSize, type GgmlTypeName } from './gguf-quant'

/** The whole-file types writeGguf offers. */
export const GGUF_FILE_TYPES = ['F32', 'F16', 'Q8_0', 'Q4_0', 'Q4_K_M'] as const
export type GgufFileType = (typeof GGUF_FILE_TYPES)[number]

/** llama.cpp's `llama_ftype` codes, for `general.file_type`. */
const LLAMA_FTYPE: Record<GgufFileType, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7, Q4_K_M: 15 }

/** ggml's quantization format version, written with quantized files. */
const QUANTIZATION_VERSION = 2

export type GgufArchitecture = 'llama' | 'qwen2' | 'qwen3'

export function ggufArchitecture(config: ModelConfig): GgufArchitecture {
  switch (config.architecture) {
    case 'LlamaForCausalLM':
    case 'MistralForCausalLM':
      return 'llama'
    case 'Qwen2ForCausalLM':
      return 'qwen2'
    case 'Qwen3ForCausalLM':
      return 'qwen3'
  }
}

const u32 = (value: number): MetadataValue => ({ type: 'uint32', value })
const f32 = (value: number): MetadataValue => ({ type: 'float32', value })

/** `general.*` and the architecture's hyperparameters. */
export function modelMetadata(config: ModelConfig, type: GgufFileType, name: string): Metadata {
  const arch = ggufArchitecture(config)
  const metadata: [string, MetadataValue][] = [
    ['general.architecture', { type: 'string', value: arch }],
    ['general.name', { type: 'string', value: name }],
    ['general.file_type', u32(LLAMA_FTYPE[type])],
    ['general.alignment', u32(32)],
    [`${arch}.context_length`, u32(config.maxPositionEmbeddings)],
    [`${arch}.embedding_length`, u32(config.hiddenSize)],
    [`${arch}.block_count`, u32(config.numLayers)],
    [`${arch}.feed_forward_length`, u32(config.intermediateSize)],
    [`${arch}.attention.head_count`, u32(config.numHeads)],
    [`${arch}.attention.head_count_kv`, u32(config.numKvHeads)],
    [`${arch}.attention.key_length`, u32(config.headDim)],
    [`${arch}.attention.value_length`, u32(config.headDim)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(config.rmsNormEps)],
    [`${arch}.rope.freq_base`, f32(config.ropeTheta)],
    [`${arch}.rope.dimension_count`, u32(config.headDim)],
    [`${arch}.vocab_size`, u32(config.vocabSize)]
  ]
  if (type !== 'F32' && type !== 'F16') {
    metadata.push(['general.quantization_version', u32(QUANTIZATION_VERSION)])
  }
  return metadata
}

/** HF module names inside a decoder layer → GGUF's `blk.N.*` names. */
const LAYER_TENSOR_NAMES: Record<string, string> = {
  input_layernorm: 'attn_norm',
  'self_attn.q_proj': 'attn_q',
  'self_attn.k_proj': 'attn_k',
  'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output',
  'self_attn.q_norm': 'attn_q_norm',
  'self_attn.k_norm': 'attn_k_norm',
  post_attention_layernorm: 'ffn_norm',
  'mlp.gate_proj': 'ffn_gate',
  'mlp.up_proj': 'ffn_up',
  'mlp.down_proj': 'ffn_down'
}

const GLOBAL_TENSOR_NAMES: Record<string, string> = {
  'model.embed_tokens.weight': 'token_embd.weight',
  'model.norm.weight': 'output_norm.weight',
  'lm_head.weight': 'output.weight'
}

const LAYER_TENSOR = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/

/** The GGUF name of HF tensor `name`. */
export function ggufTensorName(name: string): string {
  const global = GLOBAL_TENSOR_NAMES[name]
  if (global) return global
  const match = LAYER_TENSOR.exec(name)
  const module = match ? LAYER_TENSOR_NAMES[match[2]] : undefined
  if (!match || !module) throw new Error(`gguf: no GGUF name for tensor "${name}"`)
  return `blk.${match[1]}.${module}.${match[3]}`
}

/** One tensor of the file: its place in the header and how to get its float32 values. */
export interface PlannedTensor {
  name: string
  /** Shape, fastest-varying first. */
  ne: number[]
  type: GgmlTypeName
  /** The values in GGUF's layout (rows reordered where the converter reorders them). */
  values(): Float32Array
}

/**
 * Every tensor of the GGUF file in order, reading HF tensors through `read` (float32, adapter
 * merged) only when their values are asked for, so one tensor is in memory at a time.
 */
export function planTensors(
  config: ModelConfig,
  type: GgufFileType,
  read: (hfName: string) => Float32Array
): PlannedTensor[] {
  const arch = ggufArchitecture(config)
  const planned: PlannedTensor[] = []
  const scaling = ropeFactors(config)
  if (scaling)
    planned.push({ name: 'rope_freqs.weight', ne: [scaling.length], type: 'F32', values: () => scaling })
  for (const { name: hfName, shape } of expectedTensors(config)) {
    const name = ggufTensorName(hfName)
    const ne = [...shape].reverse()
    const rotaryHeads = arch === 'llama' ? reorderedHeads(hfName, config) : null
    const values = (): Float32Array => {
      const hf = read(hfName)
      return rotaryHeads === null ? hf : interleaveRotaryHalves(hf, rotaryHeads, config.headDim)
    }
    planned.push({ name, ne, type: storedType(name, ne, type, config), values })
  }
  return planned
}

function isOutputProjection(name: string, config: ModelConfig): boolean {
  return name === 'output.weight' || (config.tieWordEmbeddings && name === 'token_embd.weight')
}

function storedType(
  name: string,
  ne: readonly number[],
  type: GgufFileType,
  config: ModelConfig
): GgmlTypeName {
  if (ne.length === 1 || type === 'F32') return 'F32'
  const wanted = quantizedType(name, type, config)
  if (ne[0] % blockSize(wanted) === 0) return wanted
  return wanted !== 'F16' && ne[0] % blockSize('Q8_0') === 0 ? 'Q8_0' : 'F16'
}

/** The type a matrix is quantized to in a file of `type`, before rows that are not whole blocks fall back. */
function quantizedType(name: string, type: Exclude<GgufFileType, 'F32'>, config: ModelConfig): GgmlTypeName {
  const output = isOutputProjection(name, config)
  if (type === 'Q4_0') return output ? 'Q8_0' : 'Q4_0'
  if (type !== 'Q4_K_M') return type
  if (output) return 'Q6_K'
  const layer = /^blk\.(\d+)\.(attn_v|ffn_down)\.weight$/.exec(name)
  return layer && usesMoreBits(Number(layer[1]), config.numLayers) ? 'Q6_K' : 'Q4_K'
}

/**
 * Q4_K_M's layers whose attn_v and ffn_down get Q6_K, as llama.cpp's quantizer picks them: the
 * first and last eighth of the layers, and every third layer in between.
 */
function usesMoreBits(layer: number, layers: number): boolean {
  const eighth = Math.floor(layers / 8)
  return layer < eighth || layer >= Math.floor((7 * layers) / 8) || (layer - eighth) % 3 === 2
}

/** How many heads q_proj / k_proj (weight or bias) `hfName` holds, or null when it is neither. */
function reorderedHeads(hfName: string, config: ModelConfig): number | null {
  const module = LAYER_TENSOR.exec(hfName)?.[2]
  if (module === 'self_attn.q_proj') return config.numHeads
  if (module === 'self_attn.k_proj') return config.numKvHeads
  return null
}

/**
 * Rows of each head reordered from rotate-half pairs (i, i + d/2) to adjacent pairs (2i, 2i+1):
 * new row h·d + 2i + j is old row h·d + j·d/2 + i. Works for weights [heads·d, in] and biases
 * [heads·d] alike (a bias row is one value).
 */
export function interleaveRotaryHalves(values: Float32Array, heads: number, headDim: number): Float32Array {
  const rowLength = values.length / (heads * headDim)
  const half = headDim / 2
  const out = new Float32Array(values.length)
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const from = (h * headDim + j * half + i) * rowLength
        const to = (h * headDim + 2 * i + j) * rowLength
        out.set(values.subarray(from, from + rowLength), to)
      }
    }
  }
  return out
}

/** Llama 3 scaling as llama.cpp applies it: unscaled frequency / scaled frequency, per frequency. */
function ropeFactors(config: ModelConfig): Float32Array | null {
  if (!config.ropeScaling) return null
  const scaled = ropeInverseFrequencies(config)
  const unscaled = ropeInverseFrequencies({ ...config, ropeScaling: null })
  return Float32Array.from(scaled, (frequency, i) => unscaled[i] / frequency)
}
