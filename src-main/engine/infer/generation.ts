/**
 * Text generation with a KV cache. One graph serves both phases: its inputs are the new token ids
 * and every layer's cached keys/values (a symbolic past length, 0 for the prompt), its outputs the
 * logits of the last position and the caches grown by the new positions. The prompt runs once
 * (prefill), then each new token runs alone against the cache.
 *
 * The cache crosses the JS boundary each step (onnxruntime-node copies inputs for its async run,
 * so buffers bound as both input and output would still be copied, in full capacity); growing it
 * by concatenation copies only what is held.
 */
import type { ModelConfig } from '../checkpoint/hf-config'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { chatTemplateFor, type ChatMessage } from '../tokenizer/chat-template'
import type { TextTokenizer } from '../tokenizer/tokenizer'
import { add, expand, range, reshape, shape, slice, SLICE_TO_END, type GraphBuilder } from '../graph/index'
import { fusedDecoderForward, supportsFusedDecoder } from '../models/fused'
import {
  causalBias,
  decoderForward,
  lmHead,
  type LayerKeyValues,
  type LinearHook,
  type ParamProvider
} from '../models/llama'
import type { WeightsSource } from '../models/weights'
import { hostTensor, type EngineSession, type HostTensor } from '../runtime/session'
import {
  contextLimit,
  ModelGraphSession,
  openModelGraph,
  type InferenceOptions,
  type LoadedModel
} from './model-session'
import { sampleToken, seededRandom, type SamplingOptions } from './sampling'
import { TextStream, type TextDecoder } from './text-stream'

export const pastKeyName = (layer: number): string => `past.${layer}.key`
export const pastValueName = (layer: number): string => `past.${layer}.value`
export const presentKeyName = (layer: number): string => `present.${layer}.key`
export const presentValueName = (layer: number): string => `present.${layer}.value`

/**
 * Inputs input_ids (int64 [batch, seq]) and past.<i>.key/value (float32 [batch, K, past, D]);
 * outputs logits (float32 [batch, V], last position) and present.<i>.key/value [batch, K, past+seq, D].
 * Rows are not padded: every row has the same length.
 */
export function buildGenerationGraph(
  g: GraphBuilder,
  config: ModelConfig,
  param: ParamProvider,
  fused: boolean,
  /** Wraps every projection (LoRA fed at run time, live-generation.ts); the plain decoder only. */
  linear?: LinearHook
): void {
  const { numKvHeads: K, headDim: D } = config
  const inputIds = g.input('input_ids', 'int64', ['batch', 'seq'])
  const past: LayerKeyValues[] = Array.from({ length: config.numLayers }, (_, i) => ({
    key: g.input(pastKeyName(i), 'float32', ['batch', K, 'past', D]),
    value: g.input(pastValueName(i), 'float32', ['batch', K, 'past', D])
  }))
  const pastLength = shape(past[0].key, 2, 3) // [P]
  const newLength = shape(inputIds, 1, 2) // [S]
  const total = add(pastLength, newLength) // [P + S]
  const weights = { param, linear }
  const { hidden, present } =
    fused && !linear && supportsFusedDecoder(config)
      ? fusedDecoderForward(config, param, {
          inputIds,
          keyLengths: expand(total, shape(inputIds, 0, 1)), // (B): every row holds P + S
          totalLength: total,
          past
        })
      : decoderForward(config, weights, {
          inputIds,
          positions: range(reshape(pastLength, []), reshape(total, []), 1, 'int64'), // (S): P…T−1
          attentionBias: causalBias(pastLength, newLength, total),
          past
        })
  const last = reshape(slice(hidden, [-1], [SLICE_TO_END], [1]), [-1, config.hiddenSize]) // (B, E)
  g.output(lmHead(config, weights, last), 'logits')
  present.forEach((layer, i) => {
    g.output(layer.key, presentKeyName(i))
    g.output(layer.value, presentValueName(i))
  })
}

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number
  /** Seed of the sampler; default 0. Ignored by greedy decoding. */
  seed?: number
  /** Generation stops before the first of these strings appears in the text. */
  stopStrings?: readonly string[]
  /** Stop at an end-of-sequence token (default true). */
  stopAtEos?: boolean
  /** Called with each newly decoded piece of text, in order. */
  onText?: (piece: string) => void
  /** Called with each generated id and how many have been generated so far. */
  onToken?: (id: number, count: number) => void
  /** Checked between tokens; generation ends early when aborted. */
  signal?: AbortSignal
}

export type FinishReason = 'length' | 'eos' | 'stop' | 'aborted'

export interface GenerateResult {
  text: string
  /** The generated ids (an end-of-sequence token that stopped generation is included). */
  tokenIds: number[]
  finishReason: FinishReason
}

/** A generation session for one model (+ adapter), batch 1. */
export class Generator extends ModelGraphSession {
  private constructor(
    model: LoadedModel,
    session: EngineSession,
    private readonly eosTokenIds: ReadonlySet<number>
  ) {
    super(model, session)
  }

  static async open(
    source: WeightsSource,
    options: InferenceOptions & { eosTokenIds?: readonly number[] } = {}
  ): Promise<Generator> {
    const fused = options.fused ?? true
    const { model, session } = await openModelGraph(
      source,
      'generate',
      (g, param, config) => buildGenerationGraph(g, config, param, fused),
      options
    )
    const eos = new Set([...model.config.eosTokenIds, ...(options.eosTokenIds ?? [])])
    return new Generator(model, session, eos)
  }

  /** Logits of the last position and the grown cache after running `ids` on top of `cache`. */
  async step(ids: readonly number[], cache: KvCache): Promise<{ logits: Float32Array; cache: KvCache }> {
    const feeds: Record<string, HostTensor> = {
      input_ids: hostTensor(
        'int64',
        [1, ids.length],
        BigInt64Array.from(ids, (id) => BigInt(id))
      )
    }
    cache.layers.forEach((layer, i) => {
      feeds[pastKeyName(i)] = layer.key
      feeds[pastValueName(i)] = layer.value
    })
    const out = await this.session.run(feeds)
    const layers = cache.layers.map((_, i) => ({
      key: out[presentKeyName(i)],
      value: out[presentValueName(i)]
    }))
    return { logits: out.logits.data as Float32Array, cache: { layers, length: cache.length + ids.length } }
  }

  emptyCache(): KvCache {
    const { numLayers, numKvHeads, headDim } = this.model.config
    const empty = (): HostTensor => hostTensor('float32', [1, numKvHeads, 0, headDim], new Float32Array(0))
    return { layers: Array.from({ length: numLayers }, () => ({ key: empty(), value: empty() })), length: 0 }
  }

  /** Generates after `promptIds` (at least one id: BOS for an empty prompt). */
  async generate(
    promptIds: readonly number[],
    tokenizer: TextDecoder,
    options: GenerateOptions
  ): Promise<GenerateResult> {
    if (promptIds.length === 0) {
      throw new Error('Generator.generate: the prompt has no tokens (start from BOS)')
    }
    const { vocabSize } = this.model.config
    const badId = promptIds.find((id) => !(Number.isInteger(id) && id >= 0 && id < vocabSize))
    if (badId !== undefined) {
      throw new Error(`Generator.generate: prompt id ${badId} is not a token id (vocab ${vocabSize})`)
    }
    const { maxNewTokens } = options
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) {
      throw new Error(`Generator.generate: max new tokens must be a whole number ≥ 0, got ${maxNewTokens}`)
    }
    const limit = contextLimit(this.model.config)
    if (promptIds.length + maxNewTokens > limit) {
      throw new Error(
        `Generator.generate: the prompt takes ${promptIds.length} of the ${limit} tokens the model reads at once, ` +
          `so at most ${Math.max(0, limit - promptIds.length)} new tokens fit, not ${maxNewTokens}`
      )
    }
    const random = seededRandom(options.seed ?? 0)
    const stream = new TextStream(tokenizer, options.stopStrings ?? [])
    const stopAtEos = options.stopAtEos ?? true
    const tokenIds: number[] = []
    let finishReason: FinishReason = 'length'
    let next: readonly number[] = promptIds
    let cache = this.emptyCache()
    while (tokenIds.length < maxNewTokens) {
      if (options.signal?.aborted) {
        finishReason = 'aborted'
        break
      }
      const step = await this.step(next, cache)
      cache = step.cache
      const token = sampleToken(step.logits, options, random)
      tokenIds.push(token)
      options.onToken?.(token, tokenIds.length)
      if (stopAtEos && this.eosTokenIds.has(token)) {
        finishReason = 'eos'
        break
      }
      const { piece, stopped } = stream.push(token)
      if (piece) options.onText?.(piece)
      if (stopped) {
        finishReason = 'stop'
        break
      }
      next = [token]
    }
    const rest = stream.flush()
    if (rest) options.onText?.(rest)
    return { text: stream.text, tokenIds, finishReason }
  }
}

/** Cached keys and values of every layer, [1, K, length, D] each. */
export interface KvCache {
  layers: { key: HostTensor; value: HostTensor }[]
  length: number
}

/**
 * The prompt as one user turn of the model's chat template (the fallback template when it has
 * none), ending with the generation prompt, so the model answers as the assistant.
 */
export function encodeChatPrompt(tokenizer: TextTokenizer, prompt: string): number[] {
  return encodeChatMessages(tokenizer, [{ role: 'user', content: prompt }])
}

/**
 * A conversation so far (ending with the turn to answer) through the model's chat template (the
 * tool-use one when tools are given), ending with the generation prompt.
 */
export function encodeChatMessages(
  tokenizer: TextTokenizer,
  messages: readonly ChatMessage[],
  tools: readonly unknown[] | null = null
): number[] {
  const text = chatTemplateFor(tokenizer, { forTools: tools !== null }).render(messages, {
    addGenerationPrompt: true,
    tools
  })
  return tokenizer.encode(text, { addSpecialTokens: false }) // the template writes its own BOS
}

/**
 * End-of-sequence ids from the model folder's generation_config.json (chat models list their
 * end-of-turn tokens there), or none when it has no such file.
 */
export function generationEosIds(modelDir: string): number[] {
  const path = join(modelDir, 'generation_config.json')
  if (!existsSync(path)) return []
  let value: unknown
  try {
    value = (JSON.parse(readFileSync(path, 'utf8')) as { eos_token_id?: unknown }).eos_token_id
  } catch (error) {
    throw new Error(`generationEosIds: ${path} is not valid JSON: ${(error as Error).message}`)
  }
  const ids = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]
  if (!ids.every((id) => Number.isSafeInteger(id) && id >= 0)) {
    throw new Error(
      `generationEosIds: ${path}: eos_token_id must be a token id or a list, got ${JSON.stringify(value)}`
    )
  }
  return ids as number[]
}

/**
 * The ids generation starts from: the prompt encoded as the model's tokenizer does (BOS first when
 * it adds one), or BOS alone for an empty prompt.
 */
export function encodePrompt(tokenizer: TextTokenizer, config: ModelConfig, prompt: string): number[] {
  if (prompt !== '') return tokenizer.encode(prompt)
  const bos = tokenizer.bos?.id ?? config.bosTokenId
  if (bos === null)
    throw new Error(`encodePrompt: an empty prompt starts from BOS, but ${tokenizer.source} has none`)
  return [bos]
}
