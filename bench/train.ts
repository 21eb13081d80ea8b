/**
 * Training throughput: LoRA (r 16, alpha 32 on q,k,v,o,gate,up,down) and full fine-tuning, AdamW,
 * batch 4 × seq 256, on a SmolLM-135M-shaped Llama with random weights, side by side with the
 * PyTorch eager reference (bench/reference/torch_train.py) in the same run.
 *
 *   npx tsx bench/train.ts [--quick] [--no-torch] [--only lora|full]
 *
 * --quick: 2 layers, seq 64, 1 measured step (a smoke run; the reference gets --quick too).
 * Each method runs in a child process (as the reference does), so its peak RSS is its own; --only
 * runs one method in this process and prints its JSON. A step is one optimizer update: forward,
 * mean NLL over all tokens, backward, AdamW — the same work as the reference's step. FLOPs per
 * step follow the reference: forward FLOPs × 3 (full) or × 2 (LoRA: no weight gradients), forward
 * = 2 per matmul weight per token + 4·seq·heads·head_dim per layer. MFU, for both, is against the
 * better of two fp32 GEMM peaks measured in the same run: an onnxruntime MatMul 2048³ here and the
 * reference's torch.mm. The machine may be shared: the last line gives each side's fastest step.
 */
import { execFileSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { benchPaths, median, runTorchReference, smolLm135mConfig, writeRandomModel } from './bench-model'
import { GraphBuilder, matmul } from '../src-main/engine/graph/index'
import { createSession, hostTensor } from '../src-main/engine/runtime/session'
import { collateRows } from '../src-main/engine/train/batches'
import { createStepProgram } from '../src-main/engine/train/compile-step'
import { Rng } from '../src-main/engine/rng'
import { resolveRecipe } from '../src-main/recipes/index'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-torch': { type: 'boolean', default: false },
    only: { type: 'string' }
  }
})
const quick = flags.quick!
const METHODS = ['lora', 'full'] as const
type Method = (typeof METHODS)[number]

const SMOLLM_135M = smolLm135mConfig(quick)
const BATCH = 4
const SEQ = quick ? 64 : 256
const REPEATS = quick ? 1 : 3
/**
 * onnxruntime plans its memory on the first run and settles on the second; both are slower (the
 * first touches of fresh memory), so two steps warm up. The reference warms up one.
 */
const WARMUP = 2
const ADAMW = { kind: 'adamw', betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 } as const
const LEARNING_RATE = 1e-4

const { modelDir, cacheDir } = benchPaths(quick)

/** The reference's FLOP count of one training step (torch_common.forward_flops_per_token). */
function stepFlops(method: Method): number {
  const { hidden_size: E, intermediate_size: I, num_hidden_layers: L, num_attention_heads: H } = SMOLLM_135M
  const D = E / H
  const K = SMOLLM_135M.num_key_value_heads
  const matmulWeights = L * (E * D * (2 * H + 2 * K) + 3 * E * I) + E * SMOLLM_135M.vocab_size
  const forwardPerToken = 2 * matmulWeights + L * 4 * SEQ * H * D
  return BATCH * SEQ * forwardPerToken * (method === 'full' ? 3 : 2)
}

interface MethodReport {
  method: Method
  tokensPerSecond: number
  secondsMedian: number
  seconds: number[]
  /** createStepProgram: weights conversion, graph build or cache load, session creation. */
  setupSeconds: number
  peakRssMiB: number
  losses: number[]
}

async function benchMethod(method: Method): Promise<MethodReport> {
  const started = performance.now()
  const program = await createStepProgram({
    modelDir,
    adapter:
      method === 'lora'
        ? {
            kind: 'lora',
            r: 16,
            alpha: 32,
            dropout: 0,
            targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']
          }
        : { kind: 'full', freezeEmbeddings: false },
    optimizer: ADAMW,
    recipe: resolveRecipe('sft'),
    device: 'cpu',
    cacheDir,
    seed: 4,
    packed: false
  })
  const setupSeconds = (performance.now() - started) / 1000
  const rng = Rng.fromSeed(5)
  const examples = Array.from({ length: BATCH }, (_, b) => {
    const inputIds = Int32Array.from({ length: SEQ }, () => rng.int(SMOLLM_135M.vocab_size))
    const labels = Int32Array.from(inputIds, (id, t) => (t === 0 ? -100 : id)) // every next token, as the reference
    return { inputIds, labels, weights: Float32Array.from(labels, (l) => (l === -100 ? 0 : 1)), line: b + 1 }
  })
  const batch = collateRows(
    examples.map((_, b) => [b]),
    examples
  )
  const losses: number[] = []
  const seconds: number[] = []
  for (let step = 1; step <= WARMUP + REPEATS; step++) {
    const start = performance.now()
    const result = await program.step([batch], { lr: LEARNING_RATE, step, maxGradNorm: 0 })
    if (step > WARMUP) seconds.push((performance.now() - start) / 1000)
    losses.push(result.loss)
  }
  await program.release()
  const secondsMedian = median(seconds)
  return {
    method,
    tokensPerSecond: (BATCH * SEQ) / secondsMedian,
    secondsMedian,
    seconds,
    setupSeconds,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    losses
  }
}

/** Best fp32 GEMM rate of onnxruntime here (MatMul of two 2048² inputs, default threads). */
async function ortMatmulPeakGflops(): Promise<number> {
  const size = quick ? 1024 : 2048
  const g = new GraphBuilder('matmul-peak')
  g.output(matmul(g.input('a', 'float32', [size, size]), g.input('b', 'float32', [size, size])), 'c')
  const session = await createSession(g.toBytes())
  const rng = Rng.fromSeed(1)
  const a = hostTensor(
    'float32',
    [size, size],
    Float32Array.from({ length: size * size }, () => rng.float() - 0.5)
  )
  const b = hostTensor(
    'float32',
    [size, size],
    Float32Array.from({ length: size * size }, () => rng.float() - 0.5)
  )
  await session.run({ a, b })
  let best = Infinity
  for (let i = 0; i < (quick ? 3 : 8); i++) {
    const start = performance.now()
    await session.run({ a, b })
    best = Math.min(best, (performance.now() - start) / 1000)
  }
  await session.release()
  return (2 * size ** 3) / best / 1e9
}

interface TorchMethod {
  tokens_per_s: number
  tokens_per_s_best: number
  seconds_per_step_median: number
  gflops_per_s: number
  peak_rss_mib_after: number
}
interface TorchReport {
  matmul_peak: { best_gflops: number }
  lora: TorchMethod
  full: TorchMethod
}

function runTorch(): TorchReport | null {
  return flags['no-torch'] ? null : runTorchReference<TorchReport>('torch_train.py', quick)
}

/** Runs one method in a fresh child process (this script with --only), so its peak RSS is its own. */
function runChild(method: Method): MethodReport {
  const args = [...process.execArgv, import.meta.filename, '--only', method, ...(quick ? ['--quick'] : [])]
  const out = execFileSync(process.execPath, args, {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
    stdio: ['ignore', 'pipe', 'inherit']
  })
  return JSON.parse(out) as MethodReport
}

function cell(value: number | undefined, digits = 1, width = 10): string {
  return (value === undefined ? '–' : value.toFixed(digits)).padStart(width)
}

async function main(): Promise<void> {
  writeRandomModel(quick)
  if (flags.only) {
    if (!(METHODS as readonly string[]).includes(flags.only)) {
      throw new Error(`bench/train: --only must be lora or full, got ${JSON.stringify(flags.only)}`)
    }
    console.log(JSON.stringify(await benchMethod(flags.only as Method)))
    return
  }
  const ortPeak = await ortMatmulPeakGflops()
  const ours = METHODS.map(runChild)
  const torch = runTorch()
  const torchPeak = torch?.matmul_peak.best_gflops
  const peak = Math.max(ortPeak, torchPeak ?? 0)
  console.log(
    `SmolLM-135M shape${quick ? ' (quick: 2 layers)' : ''}, fp32, batch ${BATCH} × seq ${SEQ}, AdamW; ` +
      `LoRA r 16 on q,k,v,o,gate,up,down; median of ${REPEATS} steps after ${WARMUP} warm-up`
  )
  console.log(
    `fp32 GEMM peak: onnxruntime ${ortPeak.toFixed(1)} GFLOP/s, PyTorch ${torchPeak?.toFixed(1) ?? '–'} GFLOP/s ` +
      `(MFU against ${peak.toFixed(1)})`
  )
  console.log(
    `${'method'.padEnd(8)} ${'tok/s ours'.padStart(10)} ${'tok/s torch'.padStart(11)} ${'ratio'.padStart(6)} ` +
      `${'GFLOP/s'.padStart(8)} ${'MFU ours'.padStart(8)} ${'MFU torch'.padStart(9)} ${'RSS MiB'.padStart(8)} ` +
      `${'RSS torch'.padStart(9)} ${'setup s'.padStart(8)}`
  )
  for (const report of ours) {
    const reference = torch?.[report.method]
    const gflops = stepFlops(report.method) / report.secondsMedian / 1e9
    const ratio = reference ? `${(report.tokensPerSecond / reference.tokens_per_s).toFixed(2)}×` : '–'
    console.log(
      `${report.method.padEnd(8)} ${cell(report.tokensPerSecond)} ${cell(reference?.tokens_per_s, 1, 11)} ${ratio.padStart(6)} ` +
        `${cell(gflops, 1, 8)} ${cell((100 * gflops) / peak, 1, 7)}% ${cell(reference ? (100 * reference.gflops_per_s) / peak : undefined, 1, 8)}% ` +
        `${cell(report.peakRssMiB, 0, 8)} ${cell(reference?.peak_rss_mib_after, 0, 9)} ${cell(report.setupSeconds, 1, 8)}`
    )
  }
  const fastest = ours.map((r) => {
    const best = (BATCH * SEQ) / Math.min(...r.seconds)
    const theirs = torch?.[r.method].tokens_per_s_best
    return `${r.method} ${best.toFixed(1)} vs ${theirs?.toFixed(1) ?? '–'} tok/s`
  })
  console.log(`fastest step, ours vs PyTorch: ${fastest.join('; ')}`)
  console.log(
    `losses (ours): ${ours.map((r) => `${r.method} ${r.losses.map((l) => l.toFixed(4)).join(' ')}`).join('; ')}`
  )
}

await main()
