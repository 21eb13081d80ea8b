/**
 * Inference throughput: scoring (batch 4 × seq 256) and greedy generation (batch 1, 32-token
 * prompt, 128 new tokens) on a SmolLM-135M-shaped Llama with random weights, side by side with
 * the PyTorch eager reference (bench/reference/torch_inference.py) in the same run.
 *
 *   npx tsx bench/inference.ts [--quick] [--threads N] [--no-torch] [--standard-ops]
 *
 * --quick: 2 layers, seq 64, 16 new tokens, 1 repeat (a smoke run; the reference gets --quick too).
 * --standard-ops: build the graphs from standard ONNX ops only (no com.microsoft fused ops).
 * The random model and its converted weights are kept under the OS temp folder between runs.
 */
import { parseArgs } from 'node:util'
import { benchPaths, median, runTorchReference, smolLm135mConfig, writeRandomModel } from './bench-model'
import { Generator } from '../src-main/engine/infer/generation'
import { seededRandom } from '../src-main/engine/infer/sampling'
import { Scorer } from '../src-main/engine/infer/scoring'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    threads: { type: 'string', default: '2' },
    'no-torch': { type: 'boolean', default: false },
    'standard-ops': { type: 'boolean', default: false }
  }
})
const quick = flags.quick!
const threads = Number(flags.threads)
const fused = !flags['standard-ops']

const SMOLLM_135M = smolLm135mConfig(quick)
const SCORING = { batch: 4, seq: quick ? 64 : 256 }
const GENERATION = { prompt: 32, newTokens: quick ? 16 : 128 }
const REPEATS = quick ? 1 : 3

const { modelDir, cacheDir } = benchPaths(quick)

async function timeRuns(run: () => Promise<unknown>): Promise<number[]> {
  await run() // warm-up
  const seconds: number[] = []
  for (let i = 0; i < REPEATS; i++) {
    const start = performance.now()
    await run()
    seconds.push((performance.now() - start) / 1000)
  }
  return seconds
}

function randomIds(count: number, seed: number): number[] {
  const random = seededRandom(seed)
  return Array.from({ length: count }, () => Math.floor(random() * SMOLLM_135M.vocab_size))
}

async function benchScoring(): Promise<{ tokensPerSecond: number; seconds: number }> {
  const scorer = await Scorer.open({ modelDir }, { cacheDir, threads, fused })
  const rows = Array.from({ length: SCORING.batch }, (_, b) => {
    const inputIds = randomIds(SCORING.seq, 10 + b)
    return { inputIds, labels: inputIds.map((id, t) => (t === 0 ? -100 : id)) }
  })
  const seconds = median(await timeRuns(() => scorer.score(rows)))
  await scorer.release()
  return { tokensPerSecond: (SCORING.batch * SCORING.seq) / seconds, seconds }
}

async function benchGeneration(): Promise<{
  tokensPerSecond: number
  decodeTokensPerSecond: number
  seconds: number
}> {
  const generator = await Generator.open({ modelDir }, { cacheDir, threads, fused })
  const prompt = randomIds(GENERATION.prompt, 3)
  const silent = { decode: () => '' }
  const options = { maxNewTokens: GENERATION.newTokens, temperature: 0, stopAtEos: false }
  const prefill = median(await timeRuns(() => generator.step(prompt, generator.emptyCache())))
  const seconds = median(await timeRuns(() => generator.generate(prompt, silent, options)))
  await generator.release()
  return {
    tokensPerSecond: GENERATION.newTokens / seconds,
    decodeTokensPerSecond: (GENERATION.newTokens - 1) / Math.max(seconds - prefill, 1e-9),
    seconds
  }
}

interface TorchReport {
  matmul_peak: { best_gflops: number }
  scoring: { tokens_per_s: number; seconds_median: number }
  generation: { tokens_per_s: number; decode_tokens_per_s: number; seconds_median: number }
}

function runTorch(): TorchReport | null {
  return flags['no-torch'] ? null : runTorchReference<TorchReport>('torch_inference.py', quick)
}

function row(label: string, ours: number, theirs: number | undefined): string {
  const ratio = theirs ? `${(ours / theirs).toFixed(2)}×` : '–'
  return `${label.padEnd(34)} ${ours.toFixed(1).padStart(10)} ${(theirs?.toFixed(1) ?? '–').padStart(10)} ${ratio.padStart(7)}`
}

writeRandomModel(quick)
const scoring = await benchScoring()
const generation = await benchGeneration()
const torch = runTorch()
console.log(
  `SmolLM-135M shape${quick ? ' (quick: 2 layers)' : ''}, fp32, ${threads} intra-op threads, ${fused ? 'fused contrib ops' : 'standard ops'}`
)
console.log(
  `${'tokens/s'.padEnd(34)} ${'ours'.padStart(10)} ${'PyTorch'.padStart(10)} ${'ratio'.padStart(7)}`
)
console.log(
  row(`scoring ${SCORING.batch}×${SCORING.seq}`, scoring.tokensPerSecond, torch?.scoring.tokens_per_s)
)
console.log(
  row(
    `generation ${GENERATION.prompt}+${GENERATION.newTokens} greedy`,
    generation.tokensPerSecond,
    torch?.generation.tokens_per_s
  )
)
console.log(row('  decode only', generation.decodeTokensPerSecond, torch?.generation.decode_tokens_per_s))
if (torch)
  console.log(`fp32 GEMM peak measured by the reference: ${torch.matmul_peak.best_gflops.toFixed(0)} GFLOP/s`)
