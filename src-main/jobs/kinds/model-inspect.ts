import { createHash } from 'node:crypto'
import { createReadStream, readdirSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { openCheckpoint } from '../../engine/checkpoint/safetensors'
import { readModelConfig } from '../../engine/checkpoint/hf-config'
import { assertWeightsCanHoldConfig } from '../../engine/checkpoint/hf-layout'
import { modelNameOf } from '../../models/hf-cache'
import type { JobContext, JobKind } from '../protocol'

export interface ModelInspectInput {
  path: string
}

export interface ModelInspection {
  path: string
  name: string
  architecture: string
  parameterCount: number
  dtype: string
  contentHash: string
  config: Record<string, unknown>
}

/** The files whose bytes define a model's behaviour, in a stable order, so the hash is reproducible. */
function weightFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors') || f === 'config.json' || f === 'tokenizer.json')
    .sort()
    .map((f) => join(dir, f))
}

/** What hashing needs of its caller: a place for progress and a way to be cancelled. */
type InspectContext = Pick<JobContext, 'progress' | 'log' | 'signal'>

async function hashFiles(files: string[], ctx: InspectContext): Promise<string> {
  const hash = createHash('sha256')
  const total = files.reduce((sum, f) => sum + statSync(f).size, 0)
  let done = 0
  for (const file of files) {
    hash.update(`${basename(file)}\0`)
    for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) {
      if (ctx.signal.aborted) throw new Error('cancelled')
      hash.update(chunk as Buffer)
      done += (chunk as Buffer).length
      ctx.progress(done, total, `hashing ${basename(file)}`)
    }
  }
  return hash.digest('hex')
}

/** Reads an HF model folder: architecture, parameter count and dtype from its files, and a content hash. */
export const modelInspectJob: JobKind<ModelInspectInput, ModelInspection> = {
  kind: 'model.inspect',
  summary: 'Validate an HF model folder and hash its weights',
  run: ({ path }, ctx) => inspectModel(path, ctx)
}

/**
 * The inspection itself, for callers that may block their own thread while the weights are hashed
 * (the command line registering the model it trains).
 */
export async function inspectModel(path: string, ctx: InspectContext): Promise<ModelInspection> {
  const config = readModelConfig(path)
  const checkpoint = openCheckpoint(path)
  let parameterCount = 0
  let weightBytes = 0
  const dtypes = new Set<string>()
  try {
    for (const name of checkpoint.names()) {
      const info = checkpoint.info(name)
      parameterCount += info.shape.reduce((a, b) => a * b, 1)
      weightBytes += info.byteLength
      dtypes.add(info.dtype)
    }
  } finally {
    checkpoint.close()
  }
  assertWeightsCanHoldConfig(config, weightBytes, join(path, 'config.json'))
  ctx.log('info', `${config.architecture}: ${parameterCount} parameters (${[...dtypes].join(', ')})`)
  const contentHash = await hashFiles(weightFiles(path), ctx)
  return {
    path,
    name: modelNameOf(path),
    architecture: config.architecture,
    parameterCount,
    dtype: [...dtypes].sort().join('+'),
    contentHash,
    config: config.raw
  }
}
