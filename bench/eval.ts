/**
 * Multiple-choice throughput: ARC-style items (a ~60-token context, 4 choices of ~8 tokens, random
 * ids) on a SmolLM-135M-shaped Llama with random weights, in items/s:
 *
 *   (a) ours, ChoiceScorer: the context runs once, its choices share it;
 *   (b) ours, Scorer: every context + choice scored separately, in length-sorted batches;
 *   (c) the PyTorch eager reference (bench/reference/torch_eval.py) scoring every context + choice
 *       separately as lm-evaluation-harness does, in the same run.
 *
 *   npx tsx bench/eval.ts [--quick] [--threads N] [--no-torch]
 *
 * --quick: 2 layers, 8 items, 1 repeat (a smoke run; the reference gets --quick too).
 * The random model and its converted weights are kept under the OS temp folder between runs.
 */
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { benchPaths, median, runTorchReference, smolLm135mConfig, writeRandomModel } from './bench-model'
import { ChoiceScorer, type ChoiceItem } from '../src-main/engine/infer/choice-scoring'
import { seededRandom } from '../src-main/engine/infer/sampling'
import { Scorer, type ScoreRow } from '../src-main/engine/infer/scoring'
import { IGNORE_INDEX } from '../src-main/engine/tokenizer/labels'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    threads: { type: 'string', default: '2' },
    'no-torch': { type: 'boolean', default: false }
  }
})
const quick = flags.quick!
const threads = Number(flags.threads)

const SMOLLM_135M = smolLm135mConfig(quick)
const ITEMS = quick ? 8 : 32
const CHOICES = 4
const REPEATS = quick ? 1 : 3

const { modelDir, cacheDir } = benchPaths(quick)

/** Context of 56…64 tokens (mean 60), choices of 6…10 (mean 8); torch_eval.py uses the same formula. */
function itemLengths(index: number): { context: number; choices: number[] } {
  return {
    context: 56 + ((5 * index) % 9),
    choices: Array.from({ length: CHOICES }, (_, j) => 6 + ((index + 3 * j) % 5))
  }
}

function buildItems(): ChoiceItem[] {
  const random = seededRandom(5)
  const ids = (count: number): number[] =>
    Array.from({ length: count }, () => Math.floor(random() * SMOLLM_135M.vocab_size))
  return Array.from({ length: ITEMS }, (_, i) => {
    const lengths = itemLengths(i)
    return { context: ids(lengths.context), continuations: lengths.choices.map(ids) }
  })
}

/** Each context + choice as a row of its own, the choice's tokens labelled. */
function separateRows(items: readonly ChoiceItem[]): ScoreRow[] {
  return items.flatMap(({ context, continuations }) =>
    continuations.map((choice) => {
      const inputIds = [...context, ...choice]
      return { inputIds, labels: inputIds.map((id, t) => (t < context.length ? IGNORE_INDEX : id)) }
    })
  )
}

/** Median seconds over REPEATS runs after a warm-up; also the last run's result. */
async function timeRuns<T>(warmUp: () => Promise<unknown>, run: () => Promise<T>) {
  await warmUp()
  const seconds: number[] = []
  let result: T | undefined
  for (let i = 0; i < REPEATS; i++) {
    const start = performance.now()
    result = await run()
    seconds.push((performance.now() - start) / 1000)
  }
  return { seconds: median(seconds), result: result! }
}

async function benchChoiceScorer(items: readonly ChoiceItem[]) {
  const scorer = await ChoiceScorer.open({ modelDir }, { cacheDir, threads })
  const timed = await timeRuns(
    () => scorer.scoreChoices(items.slice(0, 2)),
    () => scorer.scoreChoices(items)
  )
  await scorer.release()
  return { seconds: timed.seconds, logprobs: timed.result.flatMap((scores) => scores.map((s) => s.logprob)) }
}

async function benchSeparateScoring(items: readonly ChoiceItem[]) {
  const scorer = await Scorer.open({ modelDir }, { cacheDir, threads })
  const rows = separateRows(items)
  const timed = await timeRuns(
    () => scorer.scoreAll(rows.slice(0, 2 * CHOICES)),
    () => scorer.scoreAll(rows)
  )
  await scorer.release()
  return { seconds: timed.seconds, logprobs: timed.result.map((score) => score.logprob) }
}

interface TorchReport {
  items: number
  batch_size: number
  items_per_s: number
}

function loadText(): string {
  return loadavg()
    .map((load) => load.toFixed(2))
    .join(' ')
}

writeRandomModel(quick)
const loadBefore = loadText()
const items = buildItems()
const shared = await benchChoiceScorer(items)
const separate = await benchSeparateScoring(items)
const torch = flags['no-torch'] ? null : runTorchReference<TorchReport>('torch_eval.py', quick)
const agreement = Math.max(...shared.logprobs.map((value, i) => Math.abs(value - separate.logprobs[i])))

const ours = ITEMS / shared.seconds
const rows: [string, number | undefined][] = [
  ['(a) ours, ChoiceScorer (context once)', ours],
  ['(b) ours, Scorer (each context + choice)', ITEMS / separate.seconds],
  [`(c) PyTorch, lm-eval style (batch ${torch?.batch_size ?? '–'})`, torch?.items_per_s]
]
console.log(
  `SmolLM-135M shape${quick ? ' (quick: 2 layers)' : ''}, fp32, ${threads} intra-op threads; ${ITEMS} ARC-style items: ~60-token context, ${CHOICES} choices of ~8 tokens`
)
console.log(`load average before: ${loadBefore}, after: ${loadText()}`)
console.log(`${'multiple-choice items/s'.padEnd(44)} ${'items/s'.padStart(8)}`)
for (const [label, value] of rows)
  console.log(`${label.padEnd(44)} ${(value?.toFixed(2) ?? '–').padStart(8)}`)
console.log(`${'(a)/(b)'.padEnd(44)} ${`${(ours / rows[1][1]!).toFixed(2)}×`.padStart(8)}`)
console.log(
  `${'(a)/(c)  (goal ≥ 3×)'.padEnd(44)} ${(torch ? `${(ours / torch.items_per_s).toFixed(2)}×` : '–').padStart(8)}`
)
console.log(`max |(a) − (b)| of a choice's log-probability: ${agreement.toExponential(1)}`)
