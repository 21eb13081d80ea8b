/**
 * Training throughput: LoRA (r 16, alpha 32 on q,k,v,o,gate,up,down) and full fine-tuning, AdamW,
 * batch 4 × seq 256, on a SmolLM-135M-shaped Llama with random weights, side by side with the
 * PyTorch eager reference (bench/reference/torch_train.py) in the same run; and a GRPO line, the
 * LoRA setting trained by grpo on its own samples (bench/train-grpo.ts): rollout and training tokens/s.
 *
 *   npx tsx bench/train.ts [--quick] [--no-torch] [--only lora|full|grpo]
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
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { benchPaths, runTorchReference, smolLm135mConfig, writeRandomModel } from './bench-model'
import { ADAMW, LEARNING_RATE, LORA, randomTokenBatch, timeTrainingSteps } from './lora-training'
import { GraphBuilder, matmul } from '../src-main/engine/graph/index'
import { createSession, hostTensor } from '../src-main/engine/runtime/session'
import { createStepProgram } from '../src-main/engine/train/compile-step'
import { Rng } from '../src-main/engine/rng'
import { resolveRecipe } from '../src-main/recipes/index'
import { benchGrpo, grpoShape, GROUP_SIZE, type GrpoReport } from './train-grpo'

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
const ONLY_CHOICES: readonly string[] = [...METHODS, 'grpo']

const SMOLLM_135M = smolLm135mConfig(quick)
const BATCH = 4
const SEQ = quick ? 64 : 256
const REPEATS = quick ? 1 : 3
/**
 * onnxruntime plans its memory on the first run and settles on the second; both are slower (the
 * first touches of fresh memory), so two steps warm up. The reference warms up one.
 */
const WARMUP = 2

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
    adapter: method === 'lora' ? LORA : { kind: 'full', freezeEmbeddings: false },
    optimizer: ADAMW,
    recipe: resolveRecipe('sft'),
    device: 'cpu',
    cacheDir,
    seed: 4,
    packed: false
  })
  const setupSeconds = (performance.now() - started) / 1000
  const batch = randomTokenBatch(SMOLLM_135M.vocab_size, BATCH, SEQ)
  const { seconds, secondsMedian, losses } = await timeTrainingSteps(program, batch, WARMUP, REPEATS)
  await program.release()
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
interface TorchGrpo {
  rollout_tokens_per_s: number
  train_tokens_per_s: number
  peak_rss_mib_after: number
}
interface TorchReport {
  matmul_peak: { best_gflops: number }
  lora: TorchMethod
  full: TorchMethod
  grpo: TorchGrpo
}

function runTorch(): TorchReport | null {
  return flags['no-torch'] ? null : runTorchReference<TorchReport>('torch_train.py', quick)
}

/** Runs one line in a fresh child process (this script with --only), so its peak RSS is its own. */
function runChild<T>(method: string): T {
  const args = [...process.execArgv, import.meta.filename, '--only', method, ...(quick ? ['--quick'] : [])]
  const out = execFileSync(process.execPath, args, {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
    stdio: ['ignore', 'pipe', 'inherit']
  })
  return JSON.parse(out) as T
}

function cell(value: number | undefined, digits = 1, width = 10): string {
  return (value === undefined ? '–' : value.toFixed(digits)).padStart(width)
}

interface TableRow {
  label: string
  ours: number
  torch?: number
  gflops?: number
  mfuTorchPercent?: number
  rss: number
  rssTorch?: number
  setupSeconds: number
}

const METHOD_WIDTH = 12

function printRow(row: TableRow, peak: number): void {
  const ratio = row.torch ? `${(row.ours / row.torch).toFixed(2)}×` : '–'
  const mfu = (percent: number | undefined) =>
    percent === undefined ? cell(undefined, 1, 8) : `${cell(percent, 1, 7)}%`
  console.log(
    `${row.label.padEnd(METHOD_WIDTH)} ${cell(row.ours)} ${cell(row.torch, 1, 11)} ${ratio.padStart(6)} ` +
      `${cell(row.gflops, 1, 8)} ${mfu(row.gflops && (100 * row.gflops) / peak)} ${mfu(row.mfuTorchPercent)} ` +
      `${cell(row.rss, 0, 8)} ${cell(row.rssTorch, 0, 9)} ${cell(row.setupSeconds, 1, 8)}`
  )
}

/** The GRPO line: rollout tokens/s and training tokens/s, each against PyTorch's. */
function grpoRows(report: GrpoReport, reference: TorchGrpo | undefined): TableRow[] {
  const shared = {
    rss: report.peakRssMiB,
    rssTorch: reference?.peak_rss_mib_after,
    setupSeconds: report.setupSeconds
  }
  return [
    {
      label: 'grpo rollout',
      ours: report.rolloutTokensPerSecond,
      torch: reference?.rollout_tokens_per_s,
      ...shared
    },
    {
      label: 'grpo train',
      ours: report.trainTokensPerSecond,
      torch: reference?.train_tokens_per_s,
      ...shared
    }
  ]
}

async function main(): Promise<void> {
  writeRandomModel(quick)
  if (flags.only) {
    if (!ONLY_CHOICES.includes(flags.only)) {
      throw new Error(
        `bench/train: --only must be one of ${ONLY_CHOICES.join(', ')}, got ${JSON.stringify(flags.only)}`
      )
    }
    const report =
      flags.only === 'grpo'
        ? await benchGrpo({
            quick,
            modelDir,
            cacheDir,
            adapter: LORA,
            optimizer: ADAMW,
            lr: LEARNING_RATE,
            warmupSteps: WARMUP,
            measuredSteps: REPEATS
          })
        : await benchMethod(flags.only as Method)
    console.log(JSON.stringify(report))
    return
  }
  const loadBefore = loadavg()[0].toFixed(2)
  const ortPeak = await ortMatmulPeakGflops()
  const ours = METHODS.map((method) => runChild<MethodReport>(method))
  const grpo = runChild<GrpoReport>('grpo')
  const torch = runTorch()
  const torchPeak = torch?.matmul_peak.best_gflops
  const peak = Math.max(ortPeak, torchPeak ?? 0)
  const shape = grpoShape(quick)
  console.log(
    `SmolLM-135M shape${quick ? ' (quick: 2 layers)' : ''}, fp32, batch ${BATCH} × seq ${SEQ}, AdamW; ` +
      `LoRA r 16 on q,k,v,o,gate,up,down; median of ${REPEATS} steps after ${WARMUP} warm-up; ` +
      `load average before ${loadBefore}, after ${loadavg()[0].toFixed(2)}`
  )
  console.log(
    `grpo: the LoRA on its own samples, ${shape.prompts} prompts of ${shape.promptTokens} tokens a step, ` +
      `G = ${GROUP_SIZE}, ${shape.completionTokens} tokens sampled at temperature 1, reward length_penalty, ` +
      `dapo, β = 0, μ = 1; rollout = generated tokens/s, train = prompt + completion tokens/s of the step`
  )
  console.log(
    `fp32 GEMM peak: onnxruntime ${ortPeak.toFixed(1)} GFLOP/s, PyTorch ${torchPeak?.toFixed(1) ?? '–'} GFLOP/s ` +
      `(MFU against ${peak.toFixed(1)})`
  )
  console.log(
    `${'method'.padEnd(METHOD_WIDTH)} ${'tok/s ours'.padStart(10)} ${'tok/s torch'.padStart(11)} ${'ratio'.padStart(6)} ` +
      `${'GFLOP/s'.padStart(8)} ${'MFU ours'.padStart(8)} ${'MFU torch'.padStart(9)} ${'RSS MiB'.padStart(8)} ` +
      `${'RSS torch'.padStart(9)} ${'setup s'.padStart(8)}`
  )
  for (const report of ours) {
    const reference = torch?.[report.method]
    printRow(
      {
        label: report.method,
        ours: report.tokensPerSecond,
        torch: reference?.tokens_per_s,
        gflops: stepFlops(report.method) / report.secondsMedian / 1e9,
        mfuTorchPercent: reference && (100 * reference.gflops_per_s) / peak,
        rss: report.peakRssMiB,
        rssTorch: reference?.peak_rss_mib_after,
        setupSeconds: report.setupSeconds
      },
      peak
    )
  }
  for (const row of grpoRows(grpo, torch?.grpo)) printRow(row, peak)
  const fastest = ours.map((r) => {
    const best = (BATCH * SEQ) / Math.min(...r.seconds)
    const theirs = torch?.[r.method].tokens_per_s_best
    return `${r.method} ${best.toFixed(1)} vs ${theirs?.toFixed(1) ?? '–'} tok/s`
  })
  console.log(`fastest step, ours vs PyTorch: ${fastest.join('; ')}`)
  const series = (values: number[]) => values.map((v) => v.toFixed(4)).join(' ')
  console.log(
    `losses (ours): ${ours.map((r) => `${r.method} ${series(r.losses)}`).join('; ')}; grpo ${series(grpo.losses)} ` +
      `(mean reward ${series(grpo.rewardMeans)})`
  )
}

await main()
