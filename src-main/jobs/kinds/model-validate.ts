/**
 * Checks a model folder before it is registered or trained: what it is (architecture, parameter
 * count, weight dtype, positions), whether its weights match its config, and whether it has a
 * tokenizer and a chat template. Reads config.json, the safetensors headers and the tokenizer files
 * only (hashing the weights is model.inspect's job). A job, because every one of those files may be
 * large or hostile (a 100 MB header, a huge tokenizer.json): parsing them must not hold up the
 * thread that serves requests.
 */
import { existsSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { ModelValidation } from '../../../src-preload/contract'
import { readModelConfig, type ModelConfig } from '../../engine/checkpoint/hf-config'
import {
  assertWeightsCanHoldConfig,
  checkCheckpointTensors,
  describeCheckpointReport
} from '../../engine/checkpoint/hf-layout'
import { openCheckpoint } from '../../engine/checkpoint/safetensors'
import { loadTokenizer } from '../../engine/tokenizer/tokenizer'
import type { JobKind } from '../protocol'

export const MODEL_VALIDATE_JOB = 'model.validate'

export interface ModelValidateInput {
  path: string
}

export const modelValidateJob: JobKind<ModelValidateInput, ModelValidation> = {
  kind: MODEL_VALIDATE_JOB,
  summary: 'Check an HF model folder: config, weights against the config, tokenizer',
  run: async ({ path }) => validateModelFolder(path)
}

/** Weight dtypes the engine reads (it trains in float32 and converts on load). */
const TRAINABLE_DTYPES = ['F32', 'F16', 'BF16']

export function validateModelFolder(path: string): ModelValidation {
  const dir = resolve(path)
  const result: ModelValidation = {
    path: dir,
    ok: false,
    architecture: null,
    parameterCount: null,
    dtype: null,
    maxPositionEmbeddings: null,
    hasTokenizer: false,
    chatTemplate: null,
    errors: [],
    warnings: []
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    result.errors.push(`${dir} is not a folder`)
    return result
  }
  const config = readConfig(dir, result)
  if (config) checkWeights(dir, config, result)
  checkTokenizer(dir, result)
  result.ok = result.errors.length === 0
  return result
}

function readConfig(dir: string, result: ModelValidation): ModelConfig | null {
  if (!existsSync(join(dir, 'config.json'))) {
    result.errors.push(`${dir} has no config.json (expected a Hugging Face model folder)`)
    return null
  }
  try {
    const config = readModelConfig(dir)
    result.architecture = config.architecture
    result.maxPositionEmbeddings = config.maxPositionEmbeddings
    return config
  } catch (error) {
    result.errors.push((error as Error).message)
    return null
  }
}

function checkWeights(dir: string, config: ModelConfig, result: ModelValidation): void {
  let checkpoint
  try {
    checkpoint = openCheckpoint(dir)
  } catch (error) {
    result.errors.push((error as Error).message)
    return
  }
  try {
    const tensors = checkpoint.names().map((name) => checkpoint.info(name))
    result.parameterCount = tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0)
    const dtypes = [...new Set(tensors.map((t) => t.dtype))].sort()
    result.dtype = dtypes.join('+')
    const unsupported = dtypes.filter((dtype) => !TRAINABLE_DTYPES.includes(dtype))
    if (unsupported.length > 0) {
      result.errors.push(
        `${dir}: weights in ${unsupported.join(', ')} cannot be trained; supported: ${TRAINABLE_DTYPES.join(', ')}`
      )
    }
    // Before the config's tensor list is built: a config far larger than its weights is refused here.
    const weightBytes = tensors.reduce((sum, t) => sum + t.byteLength, 0)
    assertWeightsCanHoldConfig(config, weightBytes, join(dir, 'config.json'))
    const report = checkCheckpointTensors(config, tensors)
    if (!report.ok) {
      result.errors.push(
        `${dir}: the weights do not match config.json (${config.architecture}): ${describeCheckpointReport(report)}`
      )
    }
  } catch (error) {
    result.errors.push((error as Error).message)
  } finally {
    checkpoint.close()
  }
}

function checkTokenizer(dir: string, result: ModelValidation): void {
  if (!existsSync(join(dir, 'tokenizer.json'))) {
    result.errors.push(`${dir} has no tokenizer.json: text samples cannot be tokenized`)
    return
  }
  try {
    const tokenizer = loadTokenizer(dir)
    result.hasTokenizer = true
    result.chatTemplate = tokenizer.chatTemplate ? 'model' : 'fallback'
    if (!tokenizer.chatTemplate) {
      result.warnings.push(
        `${join(dir, 'tokenizer_config.json')} has no chat_template: conversations are rendered with the ` +
          'plain "User:/Assistant:" fallback template'
      )
    }
  } catch (error) {
    result.errors.push((error as Error).message)
  }
}
