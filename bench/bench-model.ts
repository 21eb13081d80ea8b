/**
 * The benchmarks' model: SmolLM-135M's shape (as in bench/reference/torch_common.py) with random
 * weights, written once to a temp folder that bench/inference.ts and bench/train.ts share.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeTextFileAtomically } from '../src-main/engine/checkpoint/atomic-write'
import { parseModelConfig } from '../src-main/engine/checkpoint/hf-config'
import { expectedTensors } from '../src-main/engine/checkpoint/hf-layout'
import { writeSafetensors } from '../src-main/engine/checkpoint/safetensors-write'
import { Rng } from '../src-main/engine/rng'

/** `quick` keeps 2 of the 30 layers, for a smoke run. */
export function smolLm135mConfig(quick: boolean) {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 576,
    intermediate_size: 1536,
    num_hidden_layers: quick ? 2 : 30,
    num_attention_heads: 9,
    num_key_value_heads: 3,
    vocab_size: 49152,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    max_position_embeddings: 2048,
    tie_word_embeddings: true,
    hidden_act: 'silu',
    bos_token_id: 1,
    eos_token_id: 2
  }
}

export function benchPaths(quick: boolean): { modelDir: string; cacheDir: string } {
  const benchDir = join(tmpdir(), 'finetune-studio-bench')
  return {
    modelDir: join(benchDir, quick ? 'smollm-135m-shape-quick' : 'smollm-135m-shape'),
    cacheDir: join(benchDir, 'graph-cache')
  }
}

/**
 * Random weights like the reference's: spread 0.02 for matrices (uniform here), 1 for norms. Both
 * files are written atomically and the weights last: once model.safetensors exists, the folder is
 * complete (the benchmarks may run one after the other on the same folder).
 */
export function writeRandomModel(quick: boolean): string {
  const { modelDir } = benchPaths(quick)
  if (existsSync(join(modelDir, 'model.safetensors'))) return modelDir
  mkdirSync(modelDir, { recursive: true })
  const raw = smolLm135mConfig(quick)
  const rng = Rng.fromSeed(0)
  const spread = 0.02 * Math.sqrt(3)
  const tensors = expectedTensors(parseModelConfig(raw)).map(({ name, shape }) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1))
    if (name.includes('norm')) data.fill(1)
    else for (let i = 0; i < data.length; i++) data[i] = rng.uniform(-spread, spread)
    return { name, dtype: 'F32' as const, shape, data }
  })
  writeTextFileAtomically(join(modelDir, 'config.json'), JSON.stringify(raw, null, 2))
  writeSafetensors(join(modelDir, 'model.safetensors'), tensors)
  return modelDir
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * The JSON report of a PyTorch reference script in bench/reference/, run with Debian's PyTorch
 * (/usr/bin/python3); null, with the reason on stderr, when it cannot run here.
 */
export function runTorchReference<T>(script: string, quick: boolean): T | null {
  try {
    const out = execFileSync(
      '/usr/bin/python3',
      [join(import.meta.dirname, 'reference', script), ...(quick ? ['--quick'] : [])],
      {
        encoding: 'utf8',
        maxBuffer: 16 << 20
      }
    )
    return JSON.parse(out) as T
  } catch (error) {
    console.error(`bench: the PyTorch reference failed: ${(error as Error).message.split('\n')[0]}`)
    return null
  }
}
