/**
 * What scoring and generation share: reading a model folder, converting its weights once into the
 * graph cache, and opening a session on a graph compiled for it.
 */
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readModelConfig, type ModelConfig } from '../checkpoint/hf-config'
import type { GraphBuilder } from '../graph/index'
import { compileGraph } from '../models/compiled-graph'
import type { ParamProvider } from '../models/llama'
import { prepareWeights, type PreparedWeights, type WeightsSource } from '../models/weights'
import { executionProviders, type Device } from '../runtime/devices'
import { createSession, type EngineSession } from '../runtime/session'

export interface InferenceOptions {
  /** Default 'cpu'. */
  device?: Device
  /** Where converted weights and compiled graphs are kept; default defaultGraphCacheDir(). */
  cacheDir?: string
  /** Threads inside one op; default: onnxruntime's choice (the number of cores). */
  threads?: number
  /** Use onnxruntime contrib ops (com.microsoft) where they are faster; default true. */
  fused?: boolean
}

/**
 * The longest sequence the graphs compute exactly: the model's positions, or Mistral's sliding
 * window when it is shorter (the graphs attend to every earlier position, which equals sliding-
 * window attention only up to the window's length).
 */
export function contextLimit(config: ModelConfig): number {
  return Math.min(config.maxPositionEmbeddings, config.slidingWindow ?? Number.POSITIVE_INFINITY)
}

export function defaultGraphCacheDir(): string {
  return join(tmpdir(), 'finetune-studio', 'graph-cache')
}

export interface LoadedModel {
  config: ModelConfig
  weights: PreparedWeights
}

/**
 * Checks the device, reads the config and converts the weights (+ adapter) into the cache unless
 * already there.
 */
export function loadModel(source: WeightsSource, options: InferenceOptions = {}): LoadedModel {
  executionProviders(options.device ?? 'cpu') // fail with the setup hint before any slow work
  const config = readModelConfig(source.modelDir)
  const weights = prepareWeights(source, config, options.cacheDir ?? defaultGraphCacheDir())
  return { config, weights }
}

/** Compiles graph `kind` for the model (or finds it in the cache) and opens a session on it. */
export async function openGraphSession(
  model: LoadedModel,
  kind: string,
  build: (g: GraphBuilder, param: ParamProvider) => void,
  options: InferenceOptions = {}
): Promise<EngineSession> {
  const path = compileGraph(model.weights, kind, build)
  return createSession(path, { device: options.device ?? 'cpu', intraOpThreads: options.threads })
}

/** The model (+ adapter) loaded and a session opened on its graph `kind`, built by `build`. */
export async function openModelGraph(
  source: WeightsSource,
  kind: string,
  build: (g: GraphBuilder, param: ParamProvider, config: ModelConfig) => void,
  options: InferenceOptions = {}
): Promise<{ model: LoadedModel; session: EngineSession }> {
  const model = loadModel(source, options)
  const session = await openGraphSession(model, kind, (g, param) => build(g, param, model.config), options)
  return { model, session }
}

/** What the scorers and the generator are: one model (+ adapter) with a session on one of its graphs. */
export abstract class ModelGraphSession {
  protected constructor(
    readonly model: LoadedModel,
    protected readonly session: EngineSession
  ) {}

  async release(): Promise<void> {
    await this.session.release()
  }
}
