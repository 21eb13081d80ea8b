/**
 * LoRA adapters in PEFT's folder layout, so adapters we train load in PEFT/transformers and
 * adapters trained there load here (https://huggingface.co/docs/peft/developer_guides/checkpoint):
 *
 *   adapter_config.json         {"peft_type": "LORA", "r", "lora_alpha", "target_modules", …}
 *   adapter_model.safetensors   base_model.model.<module>.lora_A.weight  [r, in]
 *                               base_model.model.<module>.lora_B.weight  [out, r]
 *
 * where <module> is the base model's module path (`model.layers.3.self_attn.q_proj`); PEFT strips
 * the adapter name ("default") from keys when saving. The adapted layer computes
 * W·x + scaling · B·(A·x) with scaling = lora_alpha / r (lora_alpha / √r with rsLoRA).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeTextFileAtomically } from './atomic-write'
import type { ModelConfig } from './hf-config'
import { layerPrefix } from './hf-layout'
import { openSafetensors, type SafetensorsDtype } from './safetensors'
import { writeSafetensors } from './safetensors-write'

export const ADAPTER_CONFIG_NAME = 'adapter_config.json'
export const ADAPTER_WEIGHTS_NAME = 'adapter_model.safetensors'
const KEY_PREFIX = 'base_model.model.'

/** The linear layers of a decoder layer that LoRA can adapt, by PEFT target name. */
export const LORA_TARGET_MODULES = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj'
] as const
export type LoraTargetModule = (typeof LORA_TARGET_MODULES)[number]

export interface LoraConfig {
  r: number
  loraAlpha: number
  loraDropout: number
  targetModules: LoraTargetModule[]
  baseModelNameOrPath: string | null
  useRslora: boolean
}

/** One adapted linear layer: its module path in the base model and its dimensions. */
export interface LoraModule {
  modulePath: string
  inFeatures: number
  outFeatures: number
}

/** An adapted layer's weights, row-major: A is [r, inFeatures], B is [outFeatures, r]. */
export interface LoraModuleWeights extends LoraModule {
  a: Float32Array
  b: Float32Array
}

export function loraScaling(config: Pick<LoraConfig, 'r' | 'loraAlpha' | 'useRslora'>): number {
  return config.useRslora ? config.loraAlpha / Math.sqrt(config.r) : config.loraAlpha / config.r
}

export function peftTensorName(modulePath: string, matrix: 'A' | 'B'): string {
  return `${KEY_PREFIX}${modulePath}.lora_${matrix}.weight`
}

/** The inverse of peftTensorName, or null for keys that are not LoRA A/B weights. */
export function parsePeftTensorName(name: string): { modulePath: string; matrix: 'A' | 'B' } | null {
  const match = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/.exec(name)
  return match ? { modulePath: match[1], matrix: match[2] as 'A' | 'B' } : null
}

/** The layers a LoRA with these targets adapts in a model of this config, layer by layer. */
export function loraModules(config: ModelConfig, targetModules: readonly LoraTargetModule[]): LoraModule[] {
  const qSize = config.numHeads * config.headDim
  const kvSize = config.numKvHeads * config.headDim
  const dims: Record<LoraTargetModule, { path: string; inFeatures: number; outFeatures: number }> = {
    q_proj: { path: 'self_attn.q_proj', inFeatures: config.hiddenSize, outFeatures: qSize },
    k_proj: { path: 'self_attn.k_proj', inFeatures: config.hiddenSize, outFeatures: kvSize },
    v_proj: { path: 'self_attn.v_proj', inFeatures: config.hiddenSize, outFeatures: kvSize },
    o_proj: { path: 'self_attn.o_proj', inFeatures: qSize, outFeatures: config.hiddenSize },
    gate_proj: { path: 'mlp.gate_proj', inFeatures: config.hiddenSize, outFeatures: config.intermediateSize },
    up_proj: { path: 'mlp.up_proj', inFeatures: config.hiddenSize, outFeatures: config.intermediateSize },
    down_proj: { path: 'mlp.down_proj', inFeatures: config.intermediateSize, outFeatures: config.hiddenSize }
  }
  const modules: LoraModule[] = []
  for (let i = 0; i < config.numLayers; i++) {
    for (const target of LORA_TARGET_MODULES) {
      if (!targetModules.includes(target)) continue
      const { path, inFeatures, outFeatures } = dims[target]
      modules.push({ modulePath: `${layerPrefix(i)}.${path}`, inFeatures, outFeatures })
    }
  }
  return modules
}

// ---------------------------------------------------------------------------------------------
// adapter_config.json
// ---------------------------------------------------------------------------------------------

/** Normalises a parsed adapter_config.json, refusing PEFT options the engine does not implement. */
export function parseLoraConfig(raw: unknown, source = ADAPTER_CONFIG_NAME): LoraConfig {
  const fail = (message: string): never => {
    throw new Error(`LoRA adapter config ${source}: ${message}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('not a JSON object')
  const config = raw as Record<string, unknown>
  if (config.peft_type !== 'LORA') fail(`peft_type must be "LORA", got ${JSON.stringify(config.peft_type)}`)
  const r = config.r ?? 8
  if (!Number.isSafeInteger(r) || (r as number) <= 0) {
    fail(`"r" must be a positive integer, got ${JSON.stringify(r)}`)
  }
  const loraAlpha = config.lora_alpha ?? 8
  if (typeof loraAlpha !== 'number' || !(loraAlpha > 0)) {
    fail(`"lora_alpha" must be a positive number, got ${JSON.stringify(loraAlpha)}`)
  }
  const loraDropout = config.lora_dropout ?? 0
  if (typeof loraDropout !== 'number' || loraDropout < 0 || loraDropout >= 1) {
    fail(`"lora_dropout" must be in [0, 1), got ${JSON.stringify(loraDropout)}`)
  }
  const unsupported: [string, boolean][] = [
    ['bias other than "none"', (config.bias ?? 'none') !== 'none'],
    ['fan_in_fan_out', config.fan_in_fan_out === true],
    ['use_dora', config.use_dora === true],
    ['modules_to_save', Array.isArray(config.modules_to_save) && config.modules_to_save.length > 0],
    ['layers_to_transform', config.layers_to_transform != null],
    ['rank_pattern', isNonEmptyObject(config.rank_pattern)],
    ['alpha_pattern', isNonEmptyObject(config.alpha_pattern)]
  ]
  for (const [option, used] of unsupported) if (used) fail(`${option} is not supported`)
  return {
    r: r as number,
    loraAlpha: loraAlpha as number,
    loraDropout: loraDropout as number,
    targetModules: parseTargetModules(config.target_modules, fail),
    baseModelNameOrPath:
      typeof config.base_model_name_or_path === 'string' ? config.base_model_name_or_path : null,
    useRslora: config.use_rslora === true
  }
}

function isNonEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.keys(value).length > 0
}

function parseTargetModules(value: unknown, fail: (message: string) => never): LoraTargetModule[] {
  if (value === 'all-linear') return [...LORA_TARGET_MODULES]
  if (!Array.isArray(value) || value.length === 0) {
    fail(
      `"target_modules" must be a non-empty list of ${LORA_TARGET_MODULES.join(', ')} (or "all-linear"), got ${JSON.stringify(value)}`
    )
  }
  const targets = value as unknown[]
  for (const target of targets) {
    if (!(LORA_TARGET_MODULES as readonly unknown[]).includes(target)) {
      fail(
        `target module ${JSON.stringify(target)} is not supported; supported: ${LORA_TARGET_MODULES.join(', ')}`
      )
    }
  }
  return LORA_TARGET_MODULES.filter((target) => targets.includes(target))
}

/** adapter_config.json as PEFT writes it for a causal-LM LoRA. */
export function loraConfigJson(config: LoraConfig): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: config.baseModelNameOrPath,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: config.loraAlpha,
    lora_dropout: config.loraDropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: config.r,
    rank_pattern: {},
    revision: null,
    target_modules: [...config.targetModules],
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: config.useRslora
  }
}

export function readLoraConfig(dir: string): LoraConfig {
  const path = join(dir, ADAPTER_CONFIG_NAME)
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new Error(`readLoraConfig: cannot read ${path}: ${(error as Error).message}`)
  }
  return parseLoraConfig(raw, path)
}

// ---------------------------------------------------------------------------------------------
// Folder read/write
// ---------------------------------------------------------------------------------------------

export interface WriteLoraAdapterOptions {
  /** Storage dtype of the A/B matrices; PEFT loads any float dtype. */
  dtype?: Extract<SafetensorsDtype, 'F32' | 'F16' | 'BF16'>
}

/** Writes adapter_config.json and adapter_model.safetensors into `dir` (created if needed), each atomically. */
export function writeLoraAdapter(
  dir: string,
  config: LoraConfig,
  modules: readonly LoraModuleWeights[],
  options: WriteLoraAdapterOptions = {}
): void {
  const dtype = options.dtype ?? 'F32'
  const tensors = modules.flatMap((module) => {
    const where = `writeLoraAdapter: ${dir}: ${module.modulePath}`
    if (module.a.length !== config.r * module.inFeatures) {
      throw new Error(
        `${where}: lora_A holds ${module.a.length} values, expected r × in = ${config.r} × ${module.inFeatures}`
      )
    }
    if (module.b.length !== module.outFeatures * config.r) {
      throw new Error(
        `${where}: lora_B holds ${module.b.length} values, expected out × r = ${module.outFeatures} × ${config.r}`
      )
    }
    return [
      {
        name: peftTensorName(module.modulePath, 'A'),
        dtype,
        shape: [config.r, module.inFeatures],
        data: module.a
      },
      {
        name: peftTensorName(module.modulePath, 'B'),
        dtype,
        shape: [module.outFeatures, config.r],
        data: module.b
      }
    ]
  })
  mkdirSync(dir, { recursive: true })
  writeSafetensors(join(dir, ADAPTER_WEIGHTS_NAME), tensors, { format: 'pt' })
  writeTextFileAtomically(
    join(dir, ADAPTER_CONFIG_NAME),
    JSON.stringify(loraConfigJson(config), null, 2) + '\n'
  )
}

/**
 * Reads an adapter folder. With `model`, also checks that the adapter adapts exactly the layers its
 * target_modules name in that model, with that model's dimensions.
 */
export function readLoraAdapter(
  dir: string,
  model?: ModelConfig
): { config: LoraConfig; modules: LoraModuleWeights[] } {
  const config = readLoraConfig(dir)
  const path = join(dir, ADAPTER_WEIGHTS_NAME)
  if (!existsSync(path)) throw new Error(`readLoraAdapter: ${dir} has no ${ADAPTER_WEIGHTS_NAME}`)
  const file = openSafetensors(path)
  try {
    const fail = (message: string): never => {
      throw new Error(`readLoraAdapter: ${path}: ${message}`)
    }
    const pairs = new Map<string, { a?: string; b?: string }>()
    for (const name of file.names()) {
      const parsed = parsePeftTensorName(name)
      if (!parsed) {
        fail(`tensor "${name}" is not a LoRA A/B weight (base_model.model.<module>.lora_A|lora_B.weight)`)
      }
      const { modulePath, matrix } = parsed as { modulePath: string; matrix: 'A' | 'B' }
      const pair = pairs.get(modulePath) ?? {}
      pair[matrix === 'A' ? 'a' : 'b'] = name
      pairs.set(modulePath, pair)
    }
    const modules: LoraModuleWeights[] = []
    for (const [modulePath, pair] of pairs) {
      if (!pair.a || !pair.b) {
        fail(`${modulePath} has lora_${pair.a ? 'A' : 'B'} but not lora_${pair.a ? 'B' : 'A'}`)
      }
      const aShape = file.info(pair.a as string).shape
      const bShape = file.info(pair.b as string).shape
      if (aShape.length !== 2 || aShape[0] !== config.r) {
        fail(`tensor "${pair.a}" has shape [${aShape.join(', ')}], expected [r=${config.r}, in]`)
      }
      if (bShape.length !== 2 || bShape[1] !== config.r) {
        fail(`tensor "${pair.b}" has shape [${bShape.join(', ')}], expected [out, r=${config.r}]`)
      }
      modules.push({
        modulePath,
        inFeatures: aShape[1],
        outFeatures: bShape[0],
        a: file.readFloat32(pair.a as string),
        b: file.readFloat32(pair.b as string)
      })
    }
    if (model) checkModulesAgainstModel(modules, loraModules(model, config.targetModules), fail)
    return { config, modules: sortByModuleOrder(modules, model, config) }
  } finally {
    file.close()
  }
}

function checkModulesAgainstModel(
  found: readonly LoraModule[],
  expected: readonly LoraModule[],
  fail: (message: string) => never
): void {
  const byPath = new Map(found.map((m) => [m.modulePath, m]))
  const expectedPaths = new Set(expected.map((m) => m.modulePath))
  for (const want of expected) {
    const got = byPath.get(want.modulePath)
    if (!got) fail(`no weights for ${want.modulePath}, which target_modules selects`)
    const module = got as LoraModule
    if (module.inFeatures !== want.inFeatures || module.outFeatures !== want.outFeatures) {
      fail(
        `${want.modulePath} adapts ${module.inFeatures} → ${module.outFeatures} features, ` +
          `the model's layer is ${want.inFeatures} → ${want.outFeatures}`
      )
    }
  }
  for (const module of found) {
    if (!expectedPaths.has(module.modulePath)) {
      fail(`${module.modulePath} is not a layer target_modules selects in this model`)
    }
  }
}

/** Layer order (then q, k, v, o, gate, up, down) when the model is known, file order otherwise. */
function sortByModuleOrder(
  modules: LoraModuleWeights[],
  model: ModelConfig | undefined,
  config: LoraConfig
): LoraModuleWeights[] {
  if (!model) return modules
  const order = new Map(loraModules(model, config.targetModules).map((m, i) => [m.modulePath, i]))
  return [...modules].sort((x, y) => (order.get(x.modulePath) ?? 0) - (order.get(y.modulePath) ?? 0))
}

/** One LoRA module's low-rank update, ready to merge: W' = W + scaling · B·A. */
export interface LoraDelta {
  /** [r, in] */
  a: Float32Array
  /** [out, r] */
  b: Float32Array
  r: number
  inFeatures: number
  outFeatures: number
  scaling: number
}

/** W + scaling·B·A for W [out, in] (a new array; the checkpoint's buffer may be a shared view). */
export function mergeLoraWeight(weight: Float32Array, delta: LoraDelta): Float32Array {
  const { a, b, r, inFeatures, outFeatures, scaling } = delta
  const merged = Float32Array.from(weight)
  const row = new Float64Array(inFeatures)
  for (let o = 0; o < outFeatures; o++) {
    row.fill(0)
    for (let k = 0; k < r; k++) {
      const coefficient = b[o * r + k]
      if (coefficient === 0) continue
      const aRow = k * inFeatures
      for (let i = 0; i < inFeatures; i++) row[i] += coefficient * a[aRow + i]
    }
    const base = o * inFeatures
    for (let i = 0; i < inFeatures; i++) merged[base + i] += scaling * row[i]
  }
  return merged
}
