/**
 * Weights written as folders other tools load: an HF model folder with any LoRA adapter merged in,
 * in float32, float16 or bfloat16, and a PEFT adapter folder copied as it is.
 *
 * What generates from the folder goes with it: tokenizer files and the chat template (in
 * tokenizer_config.json or chat_template.jinja), and generation_config.json; a model folder that
 * has none gets one from config.json's bos/eos/pad ids, so transformers and llama.cpp's converter
 * stop where our engine stops.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeTextFileAtomically } from '../checkpoint/atomic-write'
import { readModelConfig } from '../checkpoint/hf-config'
import { expectedTensors } from '../checkpoint/hf-layout'
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, mergeLoraWeight } from '../checkpoint/peft'
import { adapterDeltas } from '../models/weights'
import { exportModelFolder, type ModelFolderDtype } from '../train/export'

export const GENERATION_CONFIG_FILE = 'generation_config.json'

/** The special-token ids generation_config.json carries, as config.json states them. */
const GENERATION_TOKEN_KEYS = ['bos_token_id', 'eos_token_id', 'pad_token_id'] as const

/**
 * Writes `modelDir`'s weights, with `adapterDir`'s LoRA merged in when given (W + scaling·B·A,
 * computed in float32), into `outDir` in `dtype`. Returns the files written.
 */
export function writeMergedModelFolder(options: {
  modelDir: string
  adapterDir: string | null
  outDir: string
  dtype: ModelFolderDtype
  /** After each tensor: how many are written of how many. */
  onTensor?: (done: number, total: number) => void
}): string[] {
  const { modelDir, adapterDir, outDir, dtype } = options
  const model = readModelConfig(modelDir)
  const deltas = adapterDir ? adapterDeltas(adapterDir, model) : new Map()
  const total = expectedTensors(model).length
  let done = 0
  const files = exportModelFolder(
    outDir,
    modelDir,
    model,
    (name, base) => {
      const delta = deltas.get(name)
      const values = delta ? mergeLoraWeight(base(), delta) : base()
      options.onTensor?.(++done, total)
      return values
    },
    dtype
  )
  if (files.includes(GENERATION_CONFIG_FILE)) return files
  writeGenerationConfig(modelDir, outDir)
  return [...files, GENERATION_CONFIG_FILE]
}

function writeGenerationConfig(modelDir: string, outDir: string): void {
  const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>
  const generation: Record<string, unknown> = {}
  for (const key of GENERATION_TOKEN_KEYS) {
    if (config[key] !== undefined && config[key] !== null) generation[key] = config[key]
  }
  writeTextFileAtomically(join(outDir, GENERATION_CONFIG_FILE), JSON.stringify(generation, null, 2) + '\n')
}

/** Copies a PEFT adapter folder's two files into `outDir`. Returns the files written. */
export function copyPeftAdapter(adapterDir: string, outDir: string): string[] {
  const files = [ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME]
  for (const file of files) {
    if (!existsSync(join(adapterDir, file))) {
      throw new Error(`copyPeftAdapter: ${adapterDir} has no ${file}`)
    }
  }
  mkdirSync(outDir, { recursive: true })
  for (const file of files) copyFileSync(join(adapterDir, file), join(outDir, file))
  return files
}
