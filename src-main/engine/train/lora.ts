/**
 * LoRA for training: which layers are adapted and with what rank and scale, the starting A/B
 * matrices (PEFT's initialisation or an existing PEFT adapter), and the projection hook that adds
 * the low-rank path to the frozen layer in the step graph.
 *
 * PEFT's LoRA layer computes W·x + b + scaling · B·(A·dropout(x)), scaling = lora_alpha / r (or
 * lora_alpha / √r with rsLoRA), and initialises A with `nn.init.kaiming_uniform_(A, a=√5)` — which
 * for a [r, in] matrix is U(−bound, bound) with bound = √(6 / ((1 + a²)·fan_in)) = 1/√in — and B
 * with zeros, so training starts from the base model exactly.
 */
import type { ModelConfig } from '../checkpoint/hf-config'
import {
  LORA_TARGET_MODULES,
  loraModules,
  loraScaling,
  peftTensorName,
  readLoraAdapter,
  type LoraConfig,
  type LoraModule,
  type LoraModuleWeights,
  type LoraTargetModule
} from '../checkpoint/peft'
import { gemm, type Tensor } from '../graph/index'
import { hashDropout } from './dropout'
import { Rng } from '../rng'
import type { AdapterSpec } from './step-program'

export type LoraAdapterSpec = Extract<AdapterSpec, { kind: 'lora' }>

/** Stream tags of Rng.fromSeed for LoRA's initialisation ("LoRA", "Init"). */
const LORA_INIT_STREAMS = [0x4c6f5241, 0x496e6974] as const

export interface LoraSetup {
  /** The effective configuration (an init adapter's r, alpha and targets win over the spec's). */
  config: LoraConfig
  scaling: number
  /** Adapted layers in model order, with their starting A [r, in] and B [out, r]. */
  modules: LoraModuleWeights[]
}

/**
 * The adapter a run trains: from `spec.initAdapterDir` when given (its r, lora_alpha,
 * target_modules, use_rslora and weights; the spec's dropout still applies, being a training
 * setting), otherwise freshly initialised as PEFT does from `seed`.
 */
export function resolveLora(spec: LoraAdapterSpec, model: ModelConfig, seed: number): LoraSetup {
  checkDropout(spec.dropout)
  if (spec.initAdapterDir) {
    const adapter = readLoraAdapter(spec.initAdapterDir, model)
    const config = { ...adapter.config, loraDropout: spec.dropout }
    return { config, scaling: loraScaling(config), modules: adapter.modules }
  }
  const config: LoraConfig = {
    r: spec.r,
    loraAlpha: spec.alpha,
    loraDropout: spec.dropout,
    targetModules: parseTargets(spec.targets),
    baseModelNameOrPath: null,
    useRslora: false
  }
  if (!Number.isSafeInteger(config.r) || config.r < 1) {
    throw new Error(`LoRA: r must be a positive integer, got ${spec.r}`)
  }
  if (!(config.loraAlpha > 0 && Number.isFinite(config.loraAlpha))) {
    throw new Error(`LoRA: alpha must be a finite number > 0, got ${spec.alpha}`)
  }
  const modules = initialLoraWeights(loraModules(model, config.targetModules), config.r, seed)
  return { config, scaling: loraScaling(config), modules }
}

/**
 * PEFT's default initialisation, drawn from our seeded generator in module order (layer by layer,
 * q k v o gate up down), A row by row: A ~ U(−1/√in, 1/√in), B = 0.
 */
export function initialLoraWeights(
  modules: readonly LoraModule[],
  r: number,
  seed: number
): LoraModuleWeights[] {
  const rng = Rng.fromSeed(seed, ...LORA_INIT_STREAMS)
  return modules.map((module) => {
    const bound = 1 / Math.sqrt(module.inFeatures)
    const a = new Float32Array(r * module.inFeatures)
    for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-bound, bound)
    return { ...module, a, b: new Float32Array(module.outFeatures * r) }
  })
}

/** Trainable tensor names and shapes of an adapter: PEFT's key names, A then B per layer. */
export function loraTensorSpecs(setup: LoraSetup): { name: string; shape: number[]; data: Float32Array }[] {
  const r = setup.config.r
  return setup.modules.flatMap((module) => [
    { name: peftTensorName(module.modulePath, 'A'), shape: [r, module.inFeatures], data: module.a },
    { name: peftTensorName(module.modulePath, 'B'), shape: [module.outFeatures, r], data: module.b }
  ])
}

export interface LoraPath {
  /** A [r, in] and B [out, r] as graph tensors (the trainable inputs). */
  a: Tensor
  b: Tensor
  scaling: number
  /** Dropout on the low-rank path's input; absent or p = 0: none (no nodes at all). */
  dropout?: { p: number; seed: Tensor; salt: number }
}

/**
 * base + scaling · B·(A·dropout(rows)) for rows [N, in] and the frozen layer's output base [N, out].
 * Both products are Gemms that read A and B transposed in place (their gradients then need no
 * Transpose either), and the scaled sum with base is the second Gemm's C input: no extra nodes.
 */
export function addLoraPath(rows: Tensor, base: Tensor, path: LoraPath): Tensor {
  const dropout = path.dropout
  const input = dropout && dropout.p > 0 ? hashDropout(rows, dropout.p, dropout.seed, dropout.salt) : rows
  const low = gemm(input, path.a, null, { transB: true }) // (N, r)
  return gemm(low, path.b, base, { transB: true, alpha: path.scaling }) // (N, out)
}

function parseTargets(targets: readonly string[]): LoraTargetModule[] {
  if (targets.length === 0) throw new Error('LoRA: no target modules given')
  for (const target of targets) {
    if (!(LORA_TARGET_MODULES as readonly string[]).includes(target)) {
      throw new Error(
        `LoRA: target module ${JSON.stringify(target)} is not supported; supported: ${LORA_TARGET_MODULES.join(', ')}`
      )
    }
  }
  return LORA_TARGET_MODULES.filter((target) => targets.includes(target))
}

function checkDropout(p: number): void {
  if (!(p >= 0 && p < 1)) throw new Error(`LoRA: dropout must be in [0, 1), got ${p}`)
}
