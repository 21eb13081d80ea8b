/**
 * The first-GPU check (issue #18): on a machine with an NVIDIA GPU, in under 10 minutes set-up
 * included, CUDA-vs-CPU parity on stories260K, LoRA and full fine-tuning tokens/s on the
 * SmolLM-135M and Qwen2.5-0.5B shapes (random weights, batch 4 × 256, AdamW, LoRA r 16 on all seven
 * projections), and each setting's peak device memory. One table, and JSON to --out.
 *
 *   npx tsx bench/gpu.ts [--setup] [--dry-run] [--out FILE]      (npm run bench:gpu)
 *
 * Without the CUDA provider it runs `npm run setup:cuda` when nvidia-smi sees a GPU (or --setup
 * asks): that downloads onnxruntime's CUDA provider from NuGet, not npm (docs/GPU.md says what).
 * Without a GPU or the provider it says "no CUDA provider/GPU: nothing measured" and exits 0.
 * --dry-run runs every code path on CPU with tiny shapes and one step: a check of this script, no
 * measurement. Each setting runs in its own child process (device memory is onnxruntime's until
 * its process exits) under its own time limit, while nvidia-smi is polled for memory.used.
 */
import { execFile, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { queryGpus } from '../src-main/api/system-resources'
import { cudaProviderInstalled, cudaProviderPath, type Device } from '../src-main/engine/runtime/devices'
import { createStepProgram } from '../src-main/engine/train/compile-step'
import type { AdapterSpec, StepMemoryOptions } from '../src-main/engine/train/step-program'
import { resolveRecipe } from '../src-main/recipes/index'
import {
  maxAbsDifference,
  maxRelativeDifference,
  parityLosses,
  parityTokenLogprobs,
  PARITY_STEPS
} from '../test/helpers/device-parity'
import { BENCH_DIR, benchPaths, writeRandomModelFolder } from './bench-model'
import { ADAMW, LORA, randomTokenBatch, timeTrainingSteps } from './lora-training'
import { benchShape, type ShapeName } from './scale-shapes'

const { values: flags } = parseArgs({
  options: {
    setup: { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
    out: { type: 'string', default: join(BENCH_DIR, 'gpu.json') },
    only: { type: 'string' }
  }
})
const dryRun = flags['dry-run']!
const device: Device = dryRun ? 'cpu' : 'cuda'

/** --dry-run's stand-in for a shape: its architecture at toy widths, so CPU runs it in seconds. */
const TINY_WIDTHS = {
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 1024
}

/** The shape's model folder (random weights, written once) and vocabulary. */
function shapeModel(name: ShapeName): { modelDir: string; vocabSize: number } {
  const shape = benchShape(name, false)
  if (!dryRun)
    return {
      modelDir: writeRandomModelFolder(shape.modelDir, shape.config, shape.dtype),
      vocabSize: shape.vocabSize
    }
  const modelDir = join(BENCH_DIR, `gpu-dry-run-${name}`)
  writeRandomModelFolder(modelDir, { ...shape.config, ...TINY_WIDTHS }, 'F32')
  return { modelDir, vocabSize: TINY_WIDTHS.vocab_size }
}

const BATCH = dryRun ? 1 : 4
const SEQ = dryRun ? 32 : 256
/** onnxruntime plans its memory on the first run and settles on the second (as bench/train.ts). */
const WARMUP = dryRun ? 0 : 2
const MEASURED = dryRun ? 1 : 3
const FULL: AdapterSpec = { kind: 'full', freezeEmbeddings: false }
const LEAN_MEMORY: StepMemoryOptions = { basePrecision: 'int4', recompute: true, lossChunks: 8 }

interface ThroughputSetting {
  id: string
  kind: 'throughput'
  shape: ShapeName
  adapter: AdapterSpec
  memory?: StepMemoryOptions
  /** Seconds before the child is stopped; the limits add up to ~7.5 minutes. */
  limitSeconds: number
}
type Setting = { id: 'parity'; kind: 'parity'; limitSeconds: number } | ThroughputSetting

const SETTINGS: readonly Setting[] = [
  { id: 'parity', kind: 'parity', limitSeconds: 90 },
  { id: 'smollm-135m lora', kind: 'throughput', shape: 'smollm-135m', adapter: LORA, limitSeconds: 60 },
  { id: 'smollm-135m full', kind: 'throughput', shape: 'smollm-135m', adapter: FULL, limitSeconds: 60 },
  {
    id: 'qwen2.5-0.5b lora int4+recompute',
    kind: 'throughput',
    shape: 'qwen2.5-0.5b',
    adapter: LORA,
    memory: LEAN_MEMORY,
    limitSeconds: 90
  },
  {
    id: 'qwen2.5-0.5b lora fp32',
    kind: 'throughput',
    shape: 'qwen2.5-0.5b',
    adapter: LORA,
    limitSeconds: 75
  },
  { id: 'qwen2.5-0.5b full', kind: 'throughput', shape: 'qwen2.5-0.5b', adapter: FULL, limitSeconds: 90 }
]

/** What a child reports for its setting. */
interface SettingReport {
  tokensPerSecond?: number
  secondsMedian?: number
  /** createStepProgram: weights conversion, graph build, session creation. */
  setupSeconds?: number
  losses?: number[]
  /** parity: the largest CUDA-vs-CPU differences (on --dry-run CPU against CPU). */
  logprobMaxAbs?: number
  lossMaxRelative?: number
}

interface Row extends SettingReport {
  id: string
  status: 'ok' | 'failed' | 'timed out'
  error?: string
  /** The most nvidia-smi reported while the setting ran (MiB, over all GPUs); null without nvidia-smi. */
  peakDeviceMiB: number | null
  wallSeconds: number
}

async function runParity(): Promise<SettingReport> {
  const dir = join(BENCH_DIR, 'gpu-parity', String(process.pid))
  mkdirSync(dir, { recursive: true })
  const cacheDir = join(dir, 'cache')
  const logprobs = {
    cpu: await parityTokenLogprobs('cpu', cacheDir),
    other: await parityTokenLogprobs(device, cacheDir)
  }
  const losses = {
    cpu: await parityLosses('cpu', dir, 'cpu'),
    other: await parityLosses(device, dir, device)
  }
  return {
    logprobMaxAbs: maxAbsDifference(logprobs.other, logprobs.cpu),
    lossMaxRelative: maxRelativeDifference(losses.other, losses.cpu),
    losses: losses.other
  }
}

async function runThroughput(setting: ThroughputSetting): Promise<SettingReport> {
  const { modelDir, vocabSize } = shapeModel(setting.shape)
  const started = performance.now()
  const program = await createStepProgram({
    modelDir,
    adapter: setting.adapter,
    optimizer: ADAMW,
    recipe: resolveRecipe('sft'),
    device,
    cacheDir: benchPaths(dryRun).cacheDir,
    seed: 4,
    packed: false,
    ...(setting.memory ? { memory: setting.memory } : {})
  })
  const setupSeconds = (performance.now() - started) / 1000
  const timed = await timeTrainingSteps(program, randomTokenBatch(vocabSize, BATCH, SEQ), WARMUP, MEASURED)
  await program.release()
  return {
    tokensPerSecond: (BATCH * SEQ) / timed.secondsMedian,
    secondsMedian: timed.secondsMedian,
    setupSeconds,
    losses: timed.losses
  }
}

/** Polls nvidia-smi's memory.used (MiB) every 200 ms until stopped; the peak, or null without it. */
function pollDeviceMemory(smiPresent: boolean): { stop(): number | null } {
  if (!smiPresent) return { stop: () => null }
  let peak = 0
  const child = spawn('nvidia-smi', [
    '--query-gpu=memory.used',
    '--format=csv,noheader,nounits',
    '-lms',
    '200'
  ])
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (text: string) => {
    for (const line of text.split('\n')) if (/^\s*\d+\s*$/.test(line)) peak = Math.max(peak, Number(line))
  })
  child.on('error', () => undefined) // a failed poll leaves the peak at what was read
  return {
    stop: () => {
      child.kill()
      return peak
    }
  }
}

/** Runs one setting in a child process (this script with --only) under its time limit. */
async function runChild(setting: Setting, smiPresent: boolean): Promise<Row> {
  const args = [
    ...process.execArgv,
    import.meta.filename,
    '--only',
    setting.id,
    ...(dryRun ? ['--dry-run'] : [])
  ]
  const memory = pollDeviceMemory(smiPresent)
  const started = performance.now()
  const finish = (fields: Omit<Row, 'id' | 'peakDeviceMiB' | 'wallSeconds'>): Row => ({
    id: setting.id,
    ...fields,
    peakDeviceMiB: memory.stop(),
    wallSeconds: (performance.now() - started) / 1000
  })
  try {
    const { stdout } = await promisify(execFile)(process.execPath, args, {
      encoding: 'utf8',
      timeout: setting.limitSeconds * 1000,
      maxBuffer: 16 << 20
    })
    return finish({ status: 'ok', ...(JSON.parse(stdout.trim().split('\n').pop()!) as SettingReport) })
  } catch (error) {
    const failure = error as { killed?: boolean; stderr?: string; message: string }
    if (failure.killed) return finish({ status: 'timed out', error: `limit ${setting.limitSeconds} s` })
    const why = failure.stderr?.trim().split('\n').filter(Boolean).pop() ?? failure.message
    return finish({ status: 'failed', error: why })
  }
}

/** Runs `npm run setup:cuda`; true when the provider is there afterwards. */
function setUpCuda(): boolean {
  console.log(
    'bench/gpu: installing the CUDA provider with `npm run setup:cuda`: it downloads ' +
      'Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0 from NuGet (api.nuget.org), not from npm, and ' +
      'extracts libonnxruntime_providers_{cuda,shared,tensorrt}.so (see docs/GPU.md)'
  )
  try {
    execFileSync('npm', ['run', 'setup:cuda'], { stdio: 'inherit' })
  } catch (error) {
    console.log(`bench/gpu: setup:cuda failed: ${(error as Error).message.split('\n')[0]}`)
  }
  return cudaProviderInstalled()
}

const cell = (value: number | null | undefined, digits: number, width: number): string =>
  (value === undefined || value === null ? '–' : value.toFixed(digits)).padStart(width)

function printTable(rows: readonly Row[]): void {
  console.log(
    `${'setting'.padEnd(34)} ${'status'.padEnd(9)} ${'tok/s'.padStart(9)} ${'step s'.padStart(7)} ` +
      `${'setup s'.padStart(7)} ${'peak MiB'.padStart(9)}  notes`
  )
  for (const row of rows) {
    const notes =
      row.status !== 'ok'
        ? row.error
        : row.logprobMaxAbs !== undefined
          ? `max |Δ log-prob| ${row.logprobMaxAbs.toExponential(2)} nats, max loss Δ ${row.lossMaxRelative!.toExponential(2)} (relative), ${PARITY_STEPS} steps`
          : `loss ${row.losses![0].toFixed(4)} → ${row.losses![row.losses!.length - 1].toFixed(4)}`
    console.log(
      `${row.id.padEnd(34)} ${row.status.padEnd(9)} ${cell(row.tokensPerSecond, 1, 9)} ${cell(row.secondsMedian, 3, 7)} ` +
        `${cell(row.setupSeconds, 1, 7)} ${cell(row.peakDeviceMiB, 0, 9)}  ${notes}`
    )
  }
}

async function main(): Promise<void> {
  if (flags.only) {
    const setting = SETTINGS.find((s) => s.id === flags.only)
    if (!setting)
      throw new Error(
        `bench/gpu: --only must be one of ${SETTINGS.map((s) => s.id).join(', ')}, got ${flags.only}`
      )
    console.log(JSON.stringify(setting.kind === 'parity' ? await runParity() : await runThroughput(setting)))
    return
  }
  const { gpus, gpuError } = await queryGpus()
  const smiPresent = gpus !== null
  if (!dryRun) {
    const gpuSeen = gpus !== null && gpus.length > 0
    if (!cudaProviderInstalled() && (gpuSeen || flags.setup)) setUpCuda()
    if (!cudaProviderInstalled() || (smiPresent && !gpuSeen)) {
      const missing = cudaProviderInstalled()
        ? `no GPU (${gpuError ?? 'nvidia-smi lists none'})`
        : `no ${cudaProviderPath()}`
      console.log(`no CUDA provider/GPU: nothing measured (${missing})`)
      return
    }
  }
  console.log(
    `bench/gpu${dryRun ? ' --dry-run (CPU, tiny shapes, 1 step: no measurement)' : ''}: device ${device}; ` +
      `GPUs: ${gpus === null ? 'nvidia-smi absent, device memory not measured' : gpus.map((g) => g.name).join(', ') || 'none'}; ` +
      `batch ${BATCH} × ${SEQ}, AdamW, LoRA r 16 on 7 projections; median of ${MEASURED} steps after ${WARMUP} warm-up`
  )
  const rows: Row[] = []
  for (const setting of SETTINGS) {
    console.log(`… ${setting.id} (limit ${setting.limitSeconds} s)`)
    rows.push(await runChild(setting, smiPresent))
  }
  printTable(rows)
  mkdirSync(dirname(flags.out!), { recursive: true })
  const report = { at: new Date().toISOString(), device, dryRun, gpus, batch: BATCH, seq: SEQ, rows }
  writeFileSync(flags.out!, JSON.stringify(report, null, 2) + '\n')
  console.log(`JSON: ${flags.out}`)
}

await main()
