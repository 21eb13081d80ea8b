/**
 * Generation on the weights a run is training, between its steps (GRPO's rollouts): the frozen
 * base model stays as the graph's initializers and the trained tensors are graph INPUTS, fed on
 * every run — a LoRA's A and B matrices, or for full fine-tuning the trained parameters — so a
 * round of rollouts needs no merge, no weight conversion and no new session after an optimizer
 * step. (Feeding full fine-tuning's parameters copies them into every run: fine for small models;
 * a LoRA's tensors are small at any model size.)
 *
 * G completions of one prompt run as one batch of G rows: the prompt is run once (prefill, one
 * row) and its cache repeated G times, then every new token runs as [G, 1] against the grown
 * caches. All rows keep the same length, which the generation graph needs (no padding); a row that
 * has ended keeps being computed until every row has ended, and what it computes is discarded.
 * Each row samples from its own seeded stream (seed, row), so a seed gives the same completions
 * on every machine whatever G is. The graph is the plain (non-fused) decoder with a KV cache,
 * because LoRA wraps each projection (models/llama.ts LinearHook).
 */
import type { ModelConfig } from '../checkpoint/hf-config'
import { peftTensorName, type LoraModule } from '../checkpoint/peft'
import { add, mul, type GraphBuilder, type Tensor } from '../graph/index'
import { linear } from '../models/blocks'
import type { LinearHook, ParamProvider } from '../models/llama'
import type { WeightsSource } from '../models/weights'
import { Rng } from '../rng'
import { hostTensor, type EngineSession, type HostTensor } from '../runtime/session'
import {
  buildGenerationGraph,
  pastKeyName,
  pastValueName,
  presentKeyName,
  presentValueName,
  type FinishReason
} from './generation'
import {
  contextLimit,
  ModelGraphSession,
  openModelGraph,
  type InferenceOptions,
  type LoadedModel
} from './model-session'
import { sampleToken, samplingEntropy, type SamplingOptions } from './sampling'

/** Which tensors are trained, and so become inputs of the generation graph. */
export type LiveWeightsSpec =
  | {
      kind: 'lora'
      /** lora_alpha / r (or / √r with rsLoRA), as the step graph applies it. */
      scaling: number
      r: number
      /** The adapted projections; their A and B are fed under their PEFT names (peftTensorName). */
      modules: readonly LoraModule[]
    }
  | {
      kind: 'full'
      /** The trained parameters, by checkpoint name; every other weight stays frozen. */
      names: readonly string[]
    }

/** The trained tensors' current values, by name (the step program's exported params have this form). */
export type LiveWeights = ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>

export interface RolloutOptions extends SamplingOptions {
  /** Completions of the prompt, generated as one batch. */
  count: number
  maxNewTokens: number
  /** Seed of the rows' samplers; row i draws from the stream (seed, i). */
  seed: number
  /** Token ids that end a completion (the model's eos ids when not given). */
  eosTokenIds?: readonly number[]
  /** Checked between tokens; generation ends early (every row 'aborted') when aborted. */
  signal?: AbortSignal
}

export interface Completion {
  /** Generated ids; an end-of-sequence id that ended it is included. */
  tokenIds: number[]
  finishReason: FinishReason
}

export interface RolloutResult {
  completions: Completion[]
  /** Tokens generated over all rows (ended rows' discarded steps not counted), and the time taken. */
  generatedTokens: number
  seconds: number
  /** The sampling distribution's entropy (samplingEntropy), summed over the generated tokens. */
  entropySum: number
}

/** Separates the rollout samplers from the run seed's other users ("Roll"). */
const ROLLOUT_STREAM = 0x526f6c6c

/** The generation graph with the trained tensors as inputs (see the module comment). */
export function buildLiveGenerationGraph(
  g: GraphBuilder,
  config: ModelConfig,
  frozen: ParamProvider,
  live: LiveWeightsSpec
): void {
  if (live.kind === 'full') {
    const trained = new Set(live.names)
    // Tied embeddings ask for one name twice: one input serves both.
    const inputs = new Map<string, Tensor>()
    const param: ParamProvider = (name, shape) => {
      if (!trained.has(name)) return frozen(name, shape)
      const input = inputs.get(name) ?? g.input(name, 'float32', [...shape])
      inputs.set(name, input)
      return input
    }
    buildGenerationGraph(g, config, param, false)
    return
  }
  const paths = new Map(
    live.modules.map((module) => [
      module.modulePath,
      {
        a: g.input(peftTensorName(module.modulePath, 'A'), 'float32', [live.r, module.inFeatures]),
        b: g.input(peftTensorName(module.modulePath, 'B'), 'float32', [module.outFeatures, live.r])
      }
    ])
  )
  // PEFT's LoRA layer without dropout: W·x + b + scaling · B·(A·x).
  const lora: LinearHook = (name, x, weight, bias) => {
    const dense = linear(x, weight, bias ?? undefined)
    const path = paths.get(name)
    return path ? add(dense, mul(linear(linear(x, path.a), path.b), live.scaling)) : dense
  }
  buildGenerationGraph(g, config, frozen, false, lora)
}

/** A session generating on live weights (see the module comment). */
export class LiveGenerator extends ModelGraphSession {
  private constructor(
    model: LoadedModel,
    session: EngineSession,
    private readonly live: LiveWeightsSpec
  ) {
    super(model, session)
  }

  /** Opens the graph for the frozen base `source` (no adapter merged) with `live` as inputs. */
  static async open(
    source: WeightsSource,
    live: LiveWeightsSpec,
    options: Omit<InferenceOptions, 'fused'> = {}
  ): Promise<LiveGenerator> {
    if (source.adapterDir) {
      throw new Error(
        'LiveGenerator: the base model is frozen as it is; the trained adapter is fed, not merged'
      )
    }
    const kind = live.kind === 'lora' ? `generate-live-lora-r${live.r}` : 'generate-live-full'
    const { model, session } = await openModelGraph(
      source,
      kind,
      (g, param, config) => buildLiveGenerationGraph(g, config, param, live),
      options
    )
    return new LiveGenerator(model, session, live)
  }

  /** The live tensors as feeds, checked against the spec. */
  private weightFeeds(weights: LiveWeights): Record<string, HostTensor> {
    const names =
      this.live.kind === 'full'
        ? this.live.names
        : this.live.modules.flatMap((m) => [
            peftTensorName(m.modulePath, 'A'),
            peftTensorName(m.modulePath, 'B')
          ])
    const feeds: Record<string, HostTensor> = {}
    for (const name of names) {
      const tensor = weights.get(name)
      if (!tensor) throw new Error(`LiveGenerator: no value fed for the trained tensor ${name}`)
      feeds[name] = hostTensor('float32', [...tensor.shape], tensor.data)
    }
    return feeds
  }

  private async run(
    ids: HostTensor,
    cache: readonly LayerCache[],
    weights: Record<string, HostTensor>
  ): Promise<{ logits: Float32Array; cache: LayerCache[] }> {
    const feeds: Record<string, HostTensor> = { ...weights, input_ids: ids }
    cache.forEach((layer, i) => {
      feeds[pastKeyName(i)] = layer.key
      feeds[pastValueName(i)] = layer.value
    })
    const out = await this.session.run(feeds)
    const next = cache.map((_, i) => ({ key: out[presentKeyName(i)], value: out[presentValueName(i)] }))
    return { logits: out.logits.data as Float32Array, cache: next }
  }

  /** `count` completions of `promptIds` on the given weights (see the module comment). */
  async rollouts(
    promptIds: readonly number[],
    weights: LiveWeights,
    options: RolloutOptions
  ): Promise<RolloutResult> {
    const { config } = this.model
    checkRolloutRequest(promptIds, options, config)
    const started = performance.now()
    const feeds = this.weightFeeds(weights)
    const eos = new Set(options.eosTokenIds ?? config.eosTokenIds)
    const randoms = Array.from({ length: options.count }, (_, row) => {
      const rng = Rng.fromSeed(options.seed, ROLLOUT_STREAM, row)
      return () => rng.float()
    })
    const prompt = hostTensor('int64', [1, promptIds.length], BigInt64Array.from(promptIds, BigInt))
    const prefill = await this.run(prompt, emptyCache(config), feeds)
    let cache = prefill.cache.map((layer) => ({
      key: repeatRows(layer.key, options.count),
      value: repeatRows(layer.value, options.count)
    }))
    let logits = repeatLogits(prefill.logits, options.count)
    const completions: Completion[] = Array.from({ length: options.count }, () => ({
      tokenIds: [],
      finishReason: 'length' as FinishReason
    }))
    const open = new Set(completions.keys())
    let entropySum = 0
    for (let step = 0; step < options.maxNewTokens && open.size > 0; step++) {
      if (options.signal?.aborted) {
        for (const row of open) completions[row].finishReason = 'aborted'
        break
      }
      const next = completions.map((completion, row) => {
        const rowLogits = logits.subarray(row * config.vocabSize, (row + 1) * config.vocabSize)
        const token = sampleToken(rowLogits, options, randoms[row])
        if (!open.has(row)) return token
        entropySum += samplingEntropy(rowLogits, options.temperature)
        completion.tokenIds.push(token)
        if (eos.has(token)) {
          completion.finishReason = 'eos'
          open.delete(row)
        }
        return token
      })
      if (open.size === 0 || step + 1 === options.maxNewTokens) break
      const ids = hostTensor('int64', [options.count, 1], BigInt64Array.from(next, BigInt))
      const ran = await this.run(ids, cache, feeds)
      cache = ran.cache
      logits = ran.logits
    }
    const generatedTokens = completions.reduce((n, c) => n + c.tokenIds.length, 0)
    return { completions, generatedTokens, seconds: (performance.now() - started) / 1000, entropySum }
  }
}

interface LayerCache {
  key: HostTensor
  value: HostTensor
}

function checkRolloutRequest(
  promptIds: readonly number[],
  options: RolloutOptions,
  config: ModelConfig
): void {
  if (promptIds.length === 0) throw new Error('LiveGenerator: the prompt has no tokens (start from BOS)')
  const badId = promptIds.find((id) => !(Number.isInteger(id) && id >= 0 && id < config.vocabSize))
  if (badId !== undefined)
    throw new Error(`LiveGenerator: prompt id ${badId} is not a token id (vocab ${config.vocabSize})`)
  if (!Number.isInteger(options.count) || options.count < 1) {
    throw new Error(
      `LiveGenerator: the number of completions must be a whole number ≥ 1, got ${options.count}`
    )
  }
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 1) {
    throw new Error(`LiveGenerator: max new tokens must be a whole number ≥ 1, got ${options.maxNewTokens}`)
  }
  const limit = contextLimit(config)
  if (promptIds.length + options.maxNewTokens > limit) {
    throw new Error(
      `LiveGenerator: the prompt takes ${promptIds.length} of the ${limit} tokens the model reads at once, ` +
        `so at most ${Math.max(0, limit - promptIds.length)} new tokens fit, not ${options.maxNewTokens}`
    )
  }
}

function emptyCache(config: ModelConfig): LayerCache[] {
  const empty = (): HostTensor =>
    hostTensor('float32', [1, config.numKvHeads, 0, config.headDim], new Float32Array(0))
  return Array.from({ length: config.numLayers }, () => ({ key: empty(), value: empty() }))
}

/** A one-row cache [1, K, P, D] as `count` identical rows. */
function repeatRows(tensor: HostTensor, count: number): HostTensor {
  const data = tensor.data as Float32Array
  const out = new Float32Array(data.length * count)
  for (let row = 0; row < count; row++) out.set(data, row * data.length)
  return hostTensor('float32', [count, ...tensor.dims.slice(1)], out)
}

function repeatLogits(logits: Float32Array, count: number): Float32Array {
  const out = new Float32Array(logits.length * count)
  for (let row = 0; row < count; row++) out.set(logits, row * logits.length)
  return out
}
