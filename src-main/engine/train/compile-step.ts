/**
 * The step-graph compiler: turns a StepProgramSpec into training graphs (step-graph.ts), compiled
 * once and cached, and a GraphStepProgram (graph-step-program.ts) that runs them.
 *
 * What lives where:
 *  - frozen weights: weights.bin in the model's cache folder (models/weights.ts), in the run's base
 *    precision, referenced by the graphs as external data; they never cross the JS boundary;
 *  - trainable tensors and optimizer state: Float32Arrays in the program, fed each step;
 *  - compiled graphs: files beside weights.bin (onnxruntime reads external data only from the
 *    model's folder), named after a hash of everything that produced them, so a second program
 *    with the same spec loads them without building anything. A graph is built when a program
 *    first needs it (eval and accumulation graphs only if the run uses them).
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { recordCacheUse } from '../cache'
import { replaceFileAtomically } from '../checkpoint/atomic-write'
import { readModelConfig, type ModelConfig } from '../checkpoint/hf-config'
import { expectedTensors } from '../checkpoint/hf-layout'
import { peftTensorName } from '../checkpoint/peft'
import { openCheckpoint } from '../checkpoint/safetensors'
import { GraphBuilder } from '../graph/index'
import { prepareWeights, type PreparedWeights } from '../models/weights'
import { DEFAULT_OPSET } from '../onnx/opset'
import { executionProviders } from '../runtime/devices'
import { APP_VERSION } from '../../version'
import { GraphStepProgram, type CompiledGraphInfo, type CompiledStepProgram } from './graph-step-program'
import { loraTensorSpecs, resolveLora, type LoraSetup } from './lora'
import { optimizerStateNames } from './optimizers'
import { buildStepGraph, type StepGraphKind, type StepGraphSpec } from './step-graph'
import type { StepProgramSpec } from './step-program'

/** Bump to invalidate every cached step graph (the code fingerprint below catches code changes). */
const STEP_GRAPH_FORMAT = 1

/**
 * The folders whose code decides what a step graph contains: the engine's, and the recipes'. The
 * engine never imports a recipe (its hook arrives in the spec), but a changed loss changes the graph.
 */
const GRAPH_CODE_FOLDERS = ['graph', 'models', 'onnx', 'train', join('..', 'recipes')]

let fingerprint: string | null = null

/**
 * A hash of the code that builds step graphs, so a cached graph is never reused after that code
 * changed: in development (sources run directly) the .ts files of the graph, model, ONNX, training
 * and recipe folders; in a build, the bundled .js files beside this module. Computed once.
 */
export function graphCodeFingerprint(): string {
  if (fingerprint !== null) return fingerprint
  const here = fileURLToPath(import.meta.url)
  const files = here.endsWith('.ts')
    ? GRAPH_CODE_FOLDERS.flatMap((folder) => filesUnder(join(dirname(here), '..', folder), '.ts'))
    : filesUnder(dirname(here), '.js')
  const hash = createHash('sha256')
  for (const file of files.sort()) hash.update(basename(file)).update(readFileSync(file))
  fingerprint = hash.digest('hex').slice(0, 16)
  return fingerprint
}

function filesUnder(folder: string, extension: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith(extension))
    .map((name) => join(folder, name))
}

/** Compiles (or finds in the cache) the step graph for `spec` and opens a session on it. */
export async function createStepProgram(spec: StepProgramSpec): Promise<CompiledStepProgram> {
  executionProviders(spec.device) // throws with the setup hint when the device cannot be used here
  const config = readModelConfig(spec.modelDir)
  const { hook: recipe, params: recipeParams } = spec.recipe
  const stateNames = optimizerStateNames(spec.optimizer) // also validates the optimizer config
  const memory = spec.memory ?? { basePrecision: 'fp32', recompute: false, lossChunks: 1 }
  if (memory.basePrecision !== 'fp32' && spec.adapter.kind === 'full') {
    throw new Error(
      `base precision ${memory.basePrecision} applies to LoRA's frozen base; full fine-tuning trains float32 weights`
    )
  }
  const weights = prepareWeights(
    { modelDir: spec.modelDir, precision: memory.basePrecision },
    config,
    spec.cacheDir
  )
  const lora = spec.adapter.kind === 'lora' ? resolveLora(spec.adapter, config, spec.seed) : null
  const trainables = lora ? loraTensorSpecs(lora) : fullFineTuningTensors(spec, config)
  const graphSpec: StepGraphSpec = {
    config,
    recipe,
    recipeParams,
    optimizer: spec.optimizer,
    packed: spec.packed,
    trainables: trainables.map(({ name, shape }) => ({ name, shape })),
    adapter: lora ? loraGraphAdapter(lora) : { kind: 'full' },
    memory: { recompute: memory.recompute, lossChunks: memory.lossChunks }
  }
  const cacheIngredients = {
    format: STEP_GRAPH_FORMAT,
    app: APP_VERSION,
    code: graphCodeFingerprint(),
    opset: DEFAULT_OPSET,
    weights: basename(weights.dir),
    adapter: lora
      ? {
          kind: 'lora',
          r: lora.config.r,
          scaling: lora.scaling,
          dropout: lora.config.loraDropout,
          targets: lora.config.targetModules
        }
      : { kind: 'full', trainables: graphSpec.trainables.map((t) => t.name) },
    optimizer: spec.optimizer,
    recipe: { name: recipe.name, params: recipeParams },
    packed: spec.packed,
    // Absent in the default, so the graphs cached before these settings existed are still found.
    ...(memory.recompute || memory.lossChunks > 1
      ? { recompute: memory.recompute, lossChunks: memory.lossChunks }
      : {})
  }
  const program = new GraphStepProgram(
    spec,
    graphSpec.trainables.map((t) => t.name),
    (kind) => compiledGraph(kind, graphSpec, weights, cacheIngredients),
    weights.dir,
    lora?.config ?? null
  )
  program.setInitialState(trainables, stateNames)
  await program.session('step')
  return program
}

/** The file of graph `kind`, built into the weights folder unless the cache already holds it. */
function compiledGraph(
  kind: StepGraphKind,
  graphSpec: StepGraphSpec,
  weights: PreparedWeights,
  cacheIngredients: object
): CompiledGraphInfo {
  const key = createHash('sha256')
    .update(JSON.stringify({ kind, ...cacheIngredients }))
    .digest('hex')
    .slice(0, 24)
  const path = join(weights.dir, `train-${kind}-${key}.onnx`)
  const fromCache = existsSync(path)
  if (!fromCache) {
    const g = new GraphBuilder(`train-${kind}`, { producerVersion: APP_VERSION })
    buildStepGraph(g, graphSpec, weights.provider(g), kind)
    const bytes = g.toBytes()
    replaceFileAtomically(path, (fd) => {
      let done = 0
      while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done)
    })
  }
  recordCacheUse(path)
  return { kind, path, fromCache }
}

/** Every weight (HF names), except the embeddings when frozen (tied: the lm_head use too). */
function fullFineTuningTensors(
  spec: StepProgramSpec,
  config: ModelConfig
): { name: string; shape: number[]; data: Float32Array }[] {
  if (spec.adapter.kind !== 'full') throw new Error('fullFineTuningTensors: not a full fine-tuning spec')
  const frozen = spec.adapter.freezeEmbeddings ? new Set(['model.embed_tokens.weight']) : new Set<string>()
  const checkpoint = openCheckpoint(spec.modelDir)
  try {
    return expectedTensors(config)
      .filter(({ name }) => !frozen.has(name))
      .map(({ name, shape }) => ({ name, shape, data: Float32Array.from(checkpoint.readFloat32(name)) }))
  } finally {
    checkpoint.close()
  }
}

function loraGraphAdapter(lora: LoraSetup): StepGraphSpec['adapter'] {
  return {
    kind: 'lora',
    scaling: lora.scaling,
    dropout: lora.config.loraDropout,
    modules: lora.modules.map((module) => ({
      modulePath: module.modulePath,
      inFeatures: module.inFeatures,
      outFeatures: module.outFeatures,
      a: peftTensorName(module.modulePath, 'A'),
      b: peftTensorName(module.modulePath, 'B')
    }))
  }
}
