/**
 * Calibrates the pre-flight memory estimate (src-main/engine/train/memory-estimate.ts, issue #18)
 * against measured peak RSS: for each setting, one child process builds the step program as the
 * trainer does (createStepProgram) and runs whole training steps (step()), then reads its VmHWM;
 * the table prints the estimate, the measurement and their ratio, flagging any outside ±15 %.
 *
 *   npx tsx bench/memory-estimate.ts [--shapes qwen2.5-0.5b,llama-3.2-1b] [--out measured.json]
 *     [--from measured.json]
 *
 * --out keeps the measurements; --from prints the table from kept measurements against the current
 * estimate, without measuring again (refitting a constant needs no new runs). Time is not measured.
 *
 * A "baseline" child imports the engine and onnxruntime and builds nothing: its RSS is the Node
 * process the estimate's `runtime` term starts from. A setting whose step graph was not in the
 * cache yet is measured again: building a graph and converting weights are one-off costs of a
 * run's first start, not of its steps.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { benchPaths, writeRandomModelFolder } from './bench-model'
import { procKilobytes, runGuardedChild, type ChildOutcome } from './guarded-child'
import { ADAMW, LORA, loraStepProgramSpec, randomTokenBatch, timeTrainingSteps } from './lora-training'
import { benchShape, type ShapeName } from './scale-shapes'
import { parseModelConfig } from '../src-main/engine/checkpoint/hf-config'
import type { BasePrecision } from '../src-main/engine/models/base-precision'
import { lossChunksFor } from '../src-main/engine/train/chunked-loss'
import { createStepProgram } from '../src-main/engine/train/compile-step'
import { estimateTrainingMemory, type MemoryEstimate } from '../src-main/engine/train/memory-estimate'

const { values: flags } = parseArgs({
  options: {
    out: { type: 'string' },
    from: { type: 'string' },
    shapes: { type: 'string' },
    child: { type: 'string' },
    baseline: { type: 'boolean', default: false }
  }
})

/** The peak of a training run is reached in its first steps; a second shows nothing grows after. */
const STEPS = 2
const TOLERANCE = 0.15
const GB = 1e9

interface Setting {
  shape: ShapeName
  precision: BasePrecision
  recompute: boolean
  lossChunks: number
  batch: number
  seq: number
}

interface ChildReport {
  peakRssBytes: number
  /** Whether the step graph came from the cache (else the run built it: measured again). */
  graphFromCache: boolean
}

interface Measured {
  setting: Setting
  outcome: ChildOutcome<ChildReport>
}

interface Measurements {
  baselineRssBytes: number
  rows: Measured[]
}

/**
 * The calibration grid: SmolLM-135M and Qwen2.5-0.5B at 4 × 256 for each memory setting, the 0.5B
 * int4 row at 2 × 128, and int4 on the Llama-3.2-1B and Qwen2.5-3B shapes (`--shapes` keeps some).
 */
function settings(): Setting[] {
  const grid: Setting[] = []
  const add = (shape: ShapeName, precision: BasePrecision, recompute: boolean, batch = 4, seq = 256) => {
    const run = { batchSize: batch, maxSeqLen: seq, basePrecision: precision, recompute }
    const lossChunks = lossChunksFor(parseModelConfig(benchShape(shape, false).config), run)
    grid.push({ shape, precision, recompute, lossChunks, batch, seq })
  }
  for (const shape of ['smollm-135m', 'qwen2.5-0.5b'] as const) {
    add(shape, 'fp32', false)
    for (const precision of ['fp32', 'fp16', 'int8', 'int4'] as const) add(shape, precision, true)
  }
  add('qwen2.5-0.5b', 'int4', true, 2, 128)
  add('llama-3.2-1b', 'int4', true)
  add('qwen2.5-3b', 'int4', true)
  const kept = flags.shapes?.split(',')
  return kept ? grid.filter((setting) => kept.includes(setting.shape)) : grid
}

function peakRss(): number {
  const peak = procKilobytes('/proc/self/status', 'VmHWM')
  if (peak === undefined)
    throw new Error('bench/memory-estimate: /proc/self/status has no VmHWM (Linux only)')
  return peak
}

/** The child's side: the setting's program built and trained as the trainer does. */
async function trainSetting(setting: Setting): Promise<ChildReport> {
  const shape = benchShape(setting.shape, false)
  const program = await createStepProgram(
    loraStepProgramSpec(shape.modelDir, benchPaths(false).cacheDir, {
      basePrecision: setting.precision,
      recompute: setting.recompute,
      lossChunks: setting.lossChunks
    })
  )
  await timeTrainingSteps(program, randomTokenBatch(shape.vocabSize, setting.batch, setting.seq), 0, STEPS)
  const graphFromCache = program.graphs.every((graph) => graph.fromCache)
  await program.release()
  return { peakRssBytes: peakRss(), graphFromCache }
}

async function runChildMode(): Promise<void> {
  try {
    const report = flags.baseline
      ? { peakRssBytes: peakRss(), graphFromCache: true }
      : await trainSetting(JSON.parse(flags.child!) as Setting)
    console.log(JSON.stringify(report))
  } catch (error) {
    console.log(JSON.stringify({ failure: (error as Error).message.split('\n')[0] }))
    process.exitCode = 1
  }
}

function runChild(args: string[]): Promise<ChildOutcome<ChildReport>> {
  return runGuardedChild<ChildReport>(process.execPath, [...process.execArgv, import.meta.filename, ...args])
}

async function measure(): Promise<Measurements> {
  const baseline = await runChild(['--baseline'])
  if (!baseline.ok) throw new Error(`bench/memory-estimate: the baseline child failed: ${baseline.failure}`)
  const rows: Measured[] = []
  for (const setting of settings()) {
    const shape = benchShape(setting.shape, false)
    writeRandomModelFolder(shape.modelDir, shape.config, shape.dtype)
    console.error(`bench/memory-estimate: ${JSON.stringify(setting)}`)
    let outcome = await runChild(['--child', JSON.stringify(setting)])
    if (outcome.ok && !outcome.report.graphFromCache)
      outcome = await runChild(['--child', JSON.stringify(setting)])
    rows.push({ setting, outcome })
    // Kept as they come: a long run cut short still leaves its measurements.
    if (flags.out)
      writeFileSync(flags.out, JSON.stringify({ baselineRssBytes: baseline.report.peakRssBytes, rows }))
  }
  return { baselineRssBytes: baseline.report.peakRssBytes, rows }
}

function estimateFor(setting: Setting, baselineRssBytes: number): MemoryEstimate {
  return estimateTrainingMemory({
    model: parseModelConfig(benchShape(setting.shape, false).config),
    adapter: LORA,
    optimizer: ADAMW,
    basePrecision: setting.precision,
    recompute: setting.recompute,
    lossChunks: setting.lossChunks,
    batchSize: setting.batch,
    seqLen: setting.seq,
    recipeNeedsBaseLogits: false,
    processBaselineBytes: baselineRssBytes
  })
}

function printTable({ baselineRssBytes, rows }: Measurements): void {
  console.log(
    `LoRA r ${LORA.r} on ${LORA.targets.length} projections, AdamW, ${STEPS} steps; measured: peak RSS (VmHWM) ` +
      `of the child; Node baseline ${(baselineRssBytes / GB).toFixed(3)} GB`
  )
  const header = ['shape', 'base', 'recompute', 'chunks', 'batch', 'estimate GB', 'measured GB', 'ratio']
  const widths = [13, 5, 9, 6, 8, 11, 11, 6]
  console.log(header.map((h, i) => (i === 0 ? h.padEnd(widths[i]) : h.padStart(widths[i]))).join(' '))
  for (const { setting, outcome } of rows) {
    const setup = [
      benchShape(setting.shape, false).label.padEnd(widths[0]),
      setting.precision.padStart(widths[1]),
      (setting.recompute ? 'on' : 'off').padStart(widths[2]),
      String(setting.lossChunks).padStart(widths[3]),
      `${setting.batch}×${setting.seq}`.padStart(widths[4])
    ]
    if (!outcome.ok) {
      console.log(`${setup.join(' ')} failed: ${outcome.failure}`)
      continue
    }
    const estimate = estimateFor(setting, baselineRssBytes).total
    const ratio = estimate / outcome.report.peakRssBytes
    const flag = Math.abs(ratio - 1) > TOLERANCE ? '  outside ±15 %' : ''
    console.log(
      [
        ...setup,
        (estimate / GB).toFixed(2).padStart(widths[5]),
        (outcome.report.peakRssBytes / GB).toFixed(2).padStart(widths[6]),
        ratio.toFixed(3).padStart(widths[7])
      ].join(' ') + flag
    )
  }
}

async function main(): Promise<void> {
  if (flags.child || flags.baseline) return runChildMode()
  const measurements = flags.from
    ? (JSON.parse(readFileSync(flags.from, 'utf8')) as Measurements)
    : await measure()
  if (flags.out) writeFileSync(flags.out, JSON.stringify(measurements, null, 2))
  printTable(measurements)
}

await main()
