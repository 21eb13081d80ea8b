/**
 * A frozen LoRA base weight kept quantized, in one product (issue #18, "measure both"): for the
 * Qwen2.5-0.5B MLP projections and an LM head chunk, the forward y = x·Wᵀ and the backward to the
 * input dx = dy·W on onnxruntime-node's CPU provider with the engine's session settings, for each
 * way of holding W that quant-matmul-graphs.ts builds. Before timing it checks that the engine's
 * standard-op decode reproduces gguf-quant.ts's decodeTensor bit for bit (exit 1 if not).
 *
 *   npx tsx bench/quant-matmul.ts [--quick] [--runs 5]
 *
 * Errors are relative to a float32 Gemm on the same dequantized weight: max |y − y_ref| / max |y_ref|.
 * "weight MiB" is what the path's initializers hold; the "as folded" row is the engine's decode on
 * plain initializers, which onnxruntime's constant folding turns into float32 W at load (its
 * optimized model holds one Gemm and a float32 initializer), so its weight is counted as float32.
 */
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { Rng } from '../src-main/engine/rng'
import { createSession, hostTensor, onnxruntimeVersion } from '../src-main/engine/runtime/session'
import { splitBlocks } from './quant-blocks'
import { decodeOnlyModel, matmulPaths, referencePath, type MatmulPath } from './quant-matmul-graphs'

const { values: flags } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, runs: { type: 'string', default: '5' } }
})
const quick = flags.quick!
const runs = Number(flags.runs)
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`bench/quant-matmul: --runs must be a positive integer, got ${flags.runs}`)
const WARMUPS = 2
/** The engine's CPU sessions use every core; this machine (and the issue's) has two. */
const THREADS = 2

interface Shape {
  name: string
  out: number
  in: number
  /** Rows of x: 4 × 256 tokens, or one LM head chunk's 128. */
  rows: number
}

const SHAPES: Shape[] = quick
  ? [{ name: 'gate/up (quick: 512 rows)', out: 4864, in: 896, rows: 512 }]
  : [
      { name: 'gate/up [4864, 896]', out: 4864, in: 896, rows: 1024 },
      { name: 'down [896, 4864]', out: 896, in: 4864, rows: 1024 },
      { name: 'LM head chunk [151936, 896]', out: 151936, in: 896, rows: 128 }
    ]

function randomArray(length: number, scale: number, rng: Rng): Float32Array {
  const out = new Float32Array(length)
  for (let i = 0; i < length; i++) out[i] = rng.uniform(-scale, scale)
  return out
}

/** The engine's int4/int8 decode graph must give decodeTensor's float32 values exactly. */
async function checkDecodeMatchesGguf(shape: Shape, rng: Rng): Promise<void> {
  const weight = randomArray(shape.out * shape.in, 0.05, rng)
  for (const type of ['Q4_0', 'Q8_0'] as const) {
    const blocks = splitBlocks(type, weight, shape.out, shape.in)
    const session = await createSession(decodeOnlyModel(blocks), { intraOpThreads: THREADS })
    const { y } = await session.run({})
    await session.release()
    const got = new Uint32Array(
      (y.data as Float32Array).buffer,
      (y.data as Float32Array).byteOffset,
      y.data.length
    )
    const want = new Uint32Array(blocks.decoded.buffer)
    const at = want.findIndex((bits, i) => got[i] !== bits)
    if (got.length !== want.length || at >= 0) {
      console.error(
        `bench/quant-matmul: the ${type} decode graph differs from decodeTensor for ${shape.name} at element ${at}: ` +
          `${(y.data as Float32Array)[at]} vs ${blocks.decoded[at]}`
      )
      process.exit(1)
    }
    console.log(
      `decode check: ${type} ${shape.name} matches decodeTensor bit for bit (${want.length} values)`
    )
  }
}

interface Timed {
  medianMs: number
  output: Float32Array
}

/** Loads `model`, runs it WARMUPS + runs times on `input`, returns the median and the last output. */
async function timeModel(model: Uint8Array, input: Float32Array, inWidth: number): Promise<Timed> {
  const session = await createSession(model, { intraOpThreads: THREADS })
  const feed = { a: hostTensor('float32', [input.length / inWidth, inWidth], input) }
  const times: number[] = []
  let output: Float32Array = new Float32Array()
  try {
    for (let i = 0; i < WARMUPS + runs; i++) {
      const start = performance.now()
      const { y } = await session.run(feed, ['y'])
      if (i >= WARMUPS) times.push(performance.now() - start)
      output = y.data as Float32Array
    }
  } finally {
    await session.release()
  }
  times.sort((p, q) => p - q)
  return { medianMs: times[Math.floor(times.length / 2)], output }
}

function maxRelativeError(got: Float32Array, reference: Float32Array): number {
  let diff = 0
  let scale = 0
  for (let i = 0; i < reference.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - reference[i]))
    scale = Math.max(scale, Math.abs(reference[i]))
  }
  return diff / scale
}

interface Row {
  path: string
  forward: Timed | string
  backward: Timed | string
  weightBytes: number
  forwardError: number | null
  backwardError: number | null
}

/** Reference outputs per dequantized weight, so paths sharing a weight share its float32 Gemm. */
class References {
  private readonly forwards = new Map<Float32Array, Float32Array>()
  private readonly backwards = new Map<Float32Array, Float32Array>()

  constructor(
    private readonly shape: Shape,
    private readonly x: Float32Array,
    private readonly dy: Float32Array
  ) {}

  forward(weight: Float32Array): Promise<Float32Array> {
    const { rows, in: inner } = this.shape
    return this.cached(this.forwards, weight, (path) => timeModel(path.forwardModel(rows), this.x, inner))
  }

  backward(weight: Float32Array): Promise<Float32Array> {
    const { rows, out } = this.shape
    return this.cached(this.backwards, weight, (path) => timeModel(path.backwardModel(rows), this.dy, out))
  }

  private async cached(
    cache: Map<Float32Array, Float32Array>,
    weight: Float32Array,
    run: (path: MatmulPath) => Promise<Timed>
  ): Promise<Float32Array> {
    let output = cache.get(weight)
    if (!output) {
      output = (await run(referencePath(weight, this.shape.out, this.shape.in))).output
      cache.set(weight, output)
    }
    return output
  }
}

async function measurePath(
  path: MatmulPath,
  shape: Shape,
  x: Float32Array,
  dy: Float32Array,
  refs: References
): Promise<Row> {
  const attempt = async (run: () => Promise<Timed>): Promise<Timed | string> => {
    try {
      return await run()
    } catch (error) {
      return (error as Error).message
    }
  }
  const forward = await attempt(() => timeModel(path.forwardModel(shape.rows), x, shape.in))
  const backward = await attempt(() => timeModel(path.backwardModel(shape.rows), dy, shape.out))
  return {
    path: path.name,
    forward,
    backward,
    weightBytes: path.weightBytes,
    forwardError:
      typeof forward === 'string'
        ? null
        : maxRelativeError(forward.output, await refs.forward(path.forwardWeight)),
    backwardError:
      typeof backward === 'string'
        ? null
        : maxRelativeError(backward.output, await refs.backward(path.backwardWeight))
  }
}

const MiB = 2 ** 20
const cell = (value: string, width: number): string => value.padStart(width)

function printTable(shape: Shape, rows: readonly Row[]): void {
  console.log(
    `\n### ${shape.name}, x [${shape.rows}, ${shape.in}], ${THREADS} threads, median of ${runs} after ${WARMUPS} warm-ups\n`
  )
  console.log('| path              | forward ms | backward ms | weight MiB | fwd rel err | bwd rel err |')
  console.log('|-------------------|------------|-------------|------------|-------------|-------------|')
  const failures: string[] = []
  for (const row of rows) {
    const ms = (t: Timed | string): string => (typeof t === 'string' ? 'failed' : t.medianMs.toFixed(1))
    const err = (e: number | null): string => (e === null ? '–' : e.toExponential(1))
    console.log(
      `| ${row.path.padEnd(17)} | ${cell(ms(row.forward), 10)} | ${cell(ms(row.backward), 11)} | ` +
        `${cell((row.weightBytes / MiB).toFixed(1), 10)} | ` +
        `${cell(err(row.forwardError), 11)} | ${cell(err(row.backwardError), 11)} |`
    )
    for (const [direction, t] of [
      ['forward', row.forward],
      ['backward', row.backward]
    ] as const)
      if (typeof t === 'string') failures.push(`${row.path} ${direction}: ${t}`)
  }
  for (const failure of failures) console.log(`\nfailed: ${failure}`)
  printBestInt4(rows)
}

/**
 * Training needs gradients as exact as float32's summation noise (~1e-6 here); accuracy level 4
 * quantizes x to int8 (~4e-3), so the pick among the int4 ways (b, c, d) excludes it.
 */
const TRAINING_GRADE_ERROR = 1e-4

/** The quickest int4 path (forward + backward) of training grade, against today's float32 Gemm. */
function printBestInt4(rows: readonly Row[]): void {
  const total = (row: Row): number =>
    typeof row.forward === 'string' || typeof row.backward === 'string'
      ? Infinity
      : row.forward.medianMs + row.backward.medianMs
  const exact = (row: Row): boolean =>
    (row.forwardError ?? Infinity) < TRAINING_GRADE_ERROR &&
    (row.backwardError ?? Infinity) < TRAINING_GRADE_ERROR
  const int4 = rows.filter((row) => row.path.includes('int4') && !row.path.includes('folded') && exact(row))
  const fp32 = rows.find((row) => row.path.includes('fp32'))
  if (int4.length === 0 || !fp32) return
  const best = int4.reduce((p, q) => (total(q) < total(p) ? q : p))
  console.log(
    `\nquickest training-grade int4 path: ${best.path}, ${total(best).toFixed(0)} ms forward + backward ` +
      `(fp32 Gemm: ${total(fp32).toFixed(0)} ms), ${(best.weightBytes / MiB).toFixed(1)} MiB of weight ` +
      `(fp32: ${(fp32.weightBytes / MiB).toFixed(1)})`
  )
}

const formatLoad = (): string =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')

console.log(`onnxruntime-node ${onnxruntimeVersion()}, load average before: ${formatLoad()}`)
const rng = Rng.fromSeed(18)
for (const shape of SHAPES.filter((s) => s.out * s.in < 10_000_000)) await checkDecodeMatchesGguf(shape, rng)
for (const shape of SHAPES) {
  const weight = randomArray(shape.out * shape.in, 0.05, rng)
  const x = randomArray(shape.rows * shape.in, 1, rng)
  const dy = randomArray(shape.rows * shape.out, 1, rng)
  const refs = new References(shape, x, dy)
  const rows: Row[] = []
  for (const path of matmulPaths(weight, shape.out, shape.in))
    rows.push(await measurePath(path, shape, x, dy, refs))
  printTable(shape, rows)
}
console.log(`\nload average after: ${formatLoad()}`)
