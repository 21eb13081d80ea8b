/**
 * The end of a run: its trained tensors written as folders other tools load.
 *
 *   LoRA        → a PEFT adapter folder (adapter_config.json + adapter_model.safetensors with PEFT's
 *                 key names), loadable by HF PEFT and by our own `generate --adapter`;
 *   LoRA merged → an HF model folder with W + scaling·B·A in every adapted weight;
 *   full        → an HF model folder: config.json, model.safetensors (trained tensors over the base
 *                 model's frozen ones), and the base model's tokenizer files.
 *
 * Model folders are written in float32, the dtype training ran in, and config.json says so; an
 * export job (jobs/kinds/engine-export.ts) may write them in float16 or bfloat16.
 *
 * A run's export is written whole before any of it is in place (writeExportFiles), so a kill while
 * exporting never leaves a folder with some files new and some missing.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import {
  syncDirectoryEntries,
  syncFolder,
  temporaryPathBeside,
  writeTextFileAtomically
} from '../checkpoint/atomic-write'
import type { ModelConfig } from '../checkpoint/hf-config'
import { expectedTensors } from '../checkpoint/hf-layout'
import {
  loraModules,
  loraScaling,
  mergeLoraWeight,
  peftTensorName,
  readLoraConfig,
  writeLoraAdapter,
  type LoraConfig,
  type LoraModuleWeights,
  type LoraTargetModule
} from '../checkpoint/peft'
import { openCheckpoint, SINGLE_FILE_NAME } from '../checkpoint/safetensors'
import { writeSafetensors } from '../checkpoint/safetensors-write'
import type { LoraAdapterSpec } from './lora'
import type { TrainableState } from './step-program'

/** Files of an HF model folder that describe how to tokenize and generate; copied next to exported weights. */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'tokenizer.model',
  'vocab.json',
  'merges.txt',
  'added_tokens.json',
  'chat_template.jinja',
  'chat_template.json',
  'generation_config.json'
] as const

/** The dtypes a model folder is exported in, as config.json's torch_dtype names them. */
export type ModelFolderDtype = 'float32' | 'float16' | 'bfloat16'

const SAFETENSORS_DTYPES = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' } as const

/**
 * Puts the files `write` exports into `outDir`, which also holds the run's checkpoints (so the
 * export cannot be one folder renamed into place): `write` fills a temporary folder inside it, its
 * files are flushed, then renamed into place one by one, the weights last. A kill while writing
 * leaves only the temporary folder, which the next training in `outDir` removes; a kill among the
 * renames leaves the weights of the previous export, or none, beside configuration files that are
 * the same for every export of a run. Returns the files written.
 */
export function writeExportFiles(outDir: string, write: (dir: string) => string[]): string[] {
  mkdirSync(outDir, { recursive: true })
  const staging = temporaryPathBeside(join(outDir, 'export'))
  mkdirSync(staging)
  try {
    const files = write(staging)
    syncFolder(staging)
    const weightsLast = [...files].sort(
      (a, b) => Number(a.endsWith('.safetensors')) - Number(b.endsWith('.safetensors'))
    )
    for (const file of weightsLast) renameSync(join(staging, file), join(outDir, file))
    syncDirectoryEntries(outDir)
    return files
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
}

/**
 * The adapter's PEFT config: r, alpha and targets of `--init-adapter` when the run started from
 * one (they decided the shapes), else the run's settings.
 */
export function exportedLoraConfig(adapter: LoraAdapterSpec, modelDir: string): LoraConfig {
  if (adapter.initAdapterDir) {
    const init = readLoraConfig(adapter.initAdapterDir)
    return { ...init, loraDropout: adapter.dropout, baseModelNameOrPath: modelDir }
  }
  return {
    r: adapter.r,
    loraAlpha: adapter.alpha,
    loraDropout: adapter.dropout,
    targetModules: adapter.targets as LoraTargetModule[],
    baseModelNameOrPath: modelDir,
    useRslora: false
  }
}

/** The LoRA A/B pairs of the trained tensors (PEFT names), in the model's layer order. */
export function loraWeightsFromParams(
  params: TrainableState['params'],
  config: LoraConfig,
  model: ModelConfig
): LoraModuleWeights[] {
  const known = new Set(params.keys())
  const modules = loraModules(model, config.targetModules).map((module) => {
    const take = (matrix: 'A' | 'B'): Float32Array => {
      const name = peftTensorName(module.modulePath, matrix)
      const tensor = params.get(name)
      if (!tensor) throw new Error(`exportLora: the trained tensors have no "${name}"`)
      known.delete(name)
      return tensor.data
    }
    return { ...module, a: take('A'), b: take('B') }
  })
  if (known.size > 0) {
    throw new Error(
      `exportLora: trained tensors outside the adapter's target modules: ${[...known].join(', ')}`
    )
  }
  return modules
}

/** Writes the PEFT adapter folder; returns the files written. */
export function exportLoraAdapter(
  outDir: string,
  params: TrainableState['params'],
  config: LoraConfig,
  model: ModelConfig
): string[] {
  writeLoraAdapter(outDir, config, loraWeightsFromParams(params, config, model))
  return ['adapter_config.json', 'adapter_model.safetensors']
}

/**
 * Writes an HF model folder: every tensor of the base checkpoint, with `replace(name, values)`
 * deciding its exported values (the trained tensor, or the merged weight), stored in `dtype`
 * (rounded to nearest even from float32), plus config.json saying that dtype and the tokenizer
 * files. Returns the files written.
 */
export function exportModelFolder(
  outDir: string,
  modelDir: string,
  model: ModelConfig,
  replace: (name: string, base: () => Float32Array) => Float32Array,
  dtype: ModelFolderDtype = 'float32'
): string[] {
  mkdirSync(outDir, { recursive: true })
  const checkpoint = openCheckpoint(modelDir)
  try {
    const tensors = expectedTensors(model).map(({ name, shape }) => {
      const data = replace(name, () => checkpoint.readFloat32(name))
      if (data.length !== shape.reduce((a, b) => a * b, 1)) {
        throw new Error(
          `exportModel: "${name}" has ${data.length} values, its shape is [${shape.join(', ')}]`
        )
      }
      return { name, dtype: SAFETENSORS_DTYPES[dtype], shape, data }
    })
    writeSafetensors(join(outDir, SINGLE_FILE_NAME), tensors, { format: 'pt' })
  } finally {
    checkpoint.close()
  }
  const config = {
    ...JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')),
    torch_dtype: dtype
  }
  writeTextFileAtomically(join(outDir, 'config.json'), JSON.stringify(config, null, 2) + '\n')
  const copied = TOKENIZER_FILES.filter((file) => existsSync(join(modelDir, file)))
  for (const file of copied) copyFileSync(join(modelDir, file), join(outDir, file))
  return [SINGLE_FILE_NAME, 'config.json', ...copied]
}

/** Full fine-tuning: the trained tensors over the base model's frozen ones. */
export function exportFullModel(
  outDir: string,
  modelDir: string,
  model: ModelConfig,
  params: TrainableState['params']
): string[] {
  const expected = new Set(expectedTensors(model).map((t) => t.name))
  const stray = [...params.keys()].filter((name) => !expected.has(name))
  if (stray.length > 0)
    throw new Error(`exportFullModel: tensors the model does not have: ${stray.join(', ')}`)
  return exportModelFolder(outDir, modelDir, model, (name, base) => params.get(name)?.data ?? base())
}

/** LoRA merged into the base: W + scaling·B·A for every adapted weight. */
export function exportMergedModel(
  outDir: string,
  modelDir: string,
  model: ModelConfig,
  config: LoraConfig,
  params: TrainableState['params']
): string[] {
  const scaling = loraScaling(config)
  const byWeight = new Map(
    loraWeightsFromParams(params, config, model).map((module) => [`${module.modulePath}.weight`, module])
  )
  return exportModelFolder(outDir, modelDir, model, (name, base) => {
    const module = byWeight.get(name)
    return module ? mergeLoraWeight(base(), { ...module, r: config.r, scaling }) : base()
  })
}
