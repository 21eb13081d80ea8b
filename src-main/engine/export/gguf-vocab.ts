/**
 * The tokenizer as GGUF metadata (`tokenizer.ggml.*`), from an HF folder's tokenizer.json and
 * tokenizer_config.json. Two kinds of BPE tokenizer are recognised:
 *
 * - `llama` (SentencePiece style: `▁` for spaces, `<0xNN>` byte fallback; stories260K, Llama 2,
 *   Mistral). llama.cpp merges the adjacent pair whose joined token scores highest, so each token
 *   scores minus the rank of the HF merge that makes it: the same order as HF's BPE.
 * - `gpt2` (byte-level BPE: Llama 3, Qwen2/Qwen3), with the merges as they are and
 *   `tokenizer.ggml.pre`, the name llama.cpp knows the pre-tokenizer's split pattern by. A pattern
 *   not in PRE_TOKENIZER_NAMES is refused: llama.cpp would split text differently from us.
 *
 * Token types are llama.cpp's: control for special added tokens, user-defined for other added
 * tokens, byte for `<0xNN>`, unknown for the unk token, unused for ids the config's vocabulary
 * has beyond the tokenizer's (written as `[PAD<id>]`, as the converter does).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ModelConfig } from '../checkpoint/hf-config'
import { loadTokenizer } from '../tokenizer/tokenizer'
import type { Metadata, MetadataValue } from './gguf-file'

/** llama.cpp's `llama_token_type`. */
const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const

/**
 * Byte-level pre-tokenizer split patterns (tokenizer.json's `pre_tokenizer` Split regex) → the
 * `tokenizer.ggml.pre` name llama.cpp implements each under.
 */
const PRE_TOKENIZER_NAMES: Record<string, string> = {
  // Qwen2, Qwen2.5, Qwen3: one digit per piece.
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
    'qwen2',
  // Llama 3, 3.1, 3.2: up to three digits per piece.
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
    'llama-bpe'
}

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] }
  added_tokens?: { id: number; content: string; special: boolean }[]
  pre_tokenizer?: unknown
  decoder?: unknown
}

/** `tokenizer.ggml.*` and `tokenizer.chat_template` for the tokenizer in `modelDir`. */
export function tokenizerMetadata(modelDir: string, config: ModelConfig): Metadata {
  const path = join(modelDir, 'tokenizer.json')
  const json = readTokenizerJson(path)
  if (json.model?.type !== 'BPE' || !json.model.vocab || !json.model.merges) {
    throw new Error(`gguf: ${path}: only BPE tokenizers can be exported, this one is ${json.model?.type}`)
  }
  const tokenizer = loadTokenizer(modelDir)
  const byteLevel = mentionsByteLevel(json.pre_tokenizer) || mentionsByteLevel(json.decoder)
  const merges = json.model.merges.map((merge) => (typeof merge === 'string' ? merge : merge.join(' ')))
  const metadata: [string, MetadataValue][] = [
    ['tokenizer.ggml.model', { type: 'string', value: byteLevel ? 'gpt2' : 'llama' }]
  ]
  if (byteLevel)
    metadata.push(['tokenizer.ggml.pre', { type: 'string', value: preTokenizerName(json, path) }])
  const { tokens, types } = tokenTable(json, config.vocabSize, tokenizer.unk?.id ?? null, byteLevel, path)
  metadata.push(
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', values: tokens }],
    ['tokenizer.ggml.token_type', { type: 'array', itemType: 'int32', values: types }]
  )
  if (byteLevel)
    metadata.push(['tokenizer.ggml.merges', { type: 'array', itemType: 'string', values: merges }])
  else
    metadata.push([
      'tokenizer.ggml.scores',
      { type: 'array', itemType: 'float32', values: mergeScores(tokens, merges) }
    ])

  const eosId = tokenizer.eos?.id ?? config.eosTokenIds[0] ?? null
  const specialIds: [string, number | null][] = [
    ['bos_token_id', tokenizer.bos?.id ?? config.bosTokenId],
    ['eos_token_id', eosId],
    ['unknown_token_id', tokenizer.unk?.id ?? null],
    ['padding_token_id', tokenizer.pad?.id ?? config.padTokenId]
  ]
  for (const [key, id] of specialIds) {
    if (id !== null) metadata.push([`tokenizer.ggml.${key}`, { type: 'uint32', value: id }])
  }
  const encoded = tokenizer.encode('x')
  metadata.push(
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: tokenizer.addsBos }],
    ['tokenizer.ggml.add_eos_token', { type: 'bool', value: eosId !== null && encoded.at(-1) === eosId }]
  )
  if (tokenizer.chatTemplate !== null) {
    metadata.push(['tokenizer.chat_template', { type: 'string', value: tokenizer.chatTemplate }])
  }
  return metadata
}

function readTokenizerJson(path: string): TokenizerJson {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as TokenizerJson
  } catch (error) {
    throw new Error(`gguf: cannot read ${path}: ${(error as Error).message}`)
  }
}

function mentionsByteLevel(part: unknown): boolean {
  if (typeof part !== 'object' || part === null) return false
  const { type, pretokenizers, decoders } = part as {
    type?: unknown
    pretokenizers?: unknown
    decoders?: unknown
  }
  if (type === 'ByteLevel') return true
  const children = [pretokenizers, decoders].filter(Array.isArray).flat() as unknown[]
  return children.some(mentionsByteLevel)
}

function preTokenizerName(json: TokenizerJson, path: string): string {
  const pattern = splitPattern(json.pre_tokenizer)
  const name = pattern === null ? undefined : PRE_TOKENIZER_NAMES[pattern]
  if (name === undefined) {
    throw new Error(
      `gguf: ${path}: the pre-tokenizer's split pattern ${JSON.stringify(pattern)} is not one llama.cpp ` +
        `is known to split alike (known: Qwen2/Qwen3, Llama 3)`
    )
  }
  return name
}

function splitPattern(part: unknown): string | null {
  if (typeof part !== 'object' || part === null) return null
  const { type, pattern, pretokenizers } = part as {
    type?: unknown
    pattern?: { Regex?: unknown }
    pretokenizers?: unknown
  }
  if (type === 'Split' && typeof pattern?.Regex === 'string') return pattern.Regex
  if (!Array.isArray(pretokenizers)) return null
  for (const child of pretokenizers) {
    const found = splitPattern(child)
    if (found !== null) return found
  }
  return null
}

/** Every id's token string and type, `vocabSize` of them. */
function tokenTable(
  json: TokenizerJson,
  vocabSize: number,
  unkId: number | null,
  byteLevel: boolean,
  path: string
): { tokens: string[]; types: Int32Array } {
  const tokens: (string | undefined)[] = new Array<string | undefined>(vocabSize)
  const types = new Int32Array(vocabSize).fill(TOKEN_TYPE.normal)
  const place = (id: number, text: string, type: number): void => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new Error(
        `gguf: ${path}: token ${JSON.stringify(text)} has id ${id}, outside the vocabulary of ${vocabSize}`
      )
    }
    tokens[id] = text
    types[id] = type
  }
  for (const [text, id] of Object.entries(json.model?.vocab ?? {})) {
    const isByte = !byteLevel && /^<0x[0-9A-F]{2}>$/.test(text)
    place(id, text, id === unkId ? TOKEN_TYPE.unknown : isByte ? TOKEN_TYPE.byte : TOKEN_TYPE.normal)
  }
  for (const added of json.added_tokens ?? []) {
    const type =
      added.id === unkId ? TOKEN_TYPE.unknown : added.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined
    place(added.id, added.content, type)
  }
  // Array.from, not map: map skips the holes this fills.
  const filled = Array.from(tokens, (text, id) => {
    if (text !== undefined) return text
    types[id] = TOKEN_TYPE.unused
    return `[PAD${id}]`
  })
  return { tokens: filled, types }
}

/** Each token's score: minus the rank of the merge that makes it (0 for tokens no merge makes). */
function mergeScores(tokens: readonly string[], merges: readonly string[]): Float32Array {
  const rank = new Map<string, number>()
  merges.forEach((merge, i) => {
    const joined = merge.replace(' ', '')
    if (!rank.has(joined)) rank.set(joined, i)
  })
  return Float32Array.from(tokens, (token) => {
    const made = rank.get(token)
    return made === undefined ? 0 : -made
  })
}
