/**
 * Built-in benchmarks: a folder under resources/benchmarks/ with `benchmark.json` (what to ask, how
 * to score) and `items.jsonl` (one item per line). A run generates a completion for every item with a
 * model (+ adapter), scores it, and measures the held-out loss on the benchmark's conversations.
 */
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { z } from 'zod'
import { encodeChatPrompt, encodePrompt, Generator } from '../engine/infer/generation'
import { readScoreRows } from '../engine/infer/score-rows'
import { Scorer } from '../engine/infer/scoring'
import type { Device } from '../engine/runtime/devices'
import { loadTokenizer, type TextTokenizer } from '../engine/tokenizer/tokenizer'
import { resourcesDir } from '../resources'
import { scoreCompletion, type MetricSpec } from './metrics'

const benchmarkSchema = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  items: z.string(),
  generation: z.object({ maxNewTokens: z.number().int().positive(), temperature: z.number().min(0) }),
  metric: z.object({
    kind: z.literal('mentions-all'),
    fields: z.array(z.string()).min(1),
    match: z.string()
  }),
  heldOutLoss: z.string().optional()
})

export type BenchmarkSpec = z.infer<typeof benchmarkSchema> & { dir: string }

export interface BenchmarkItem {
  id: string
  prompt: string
  [field: string]: string
}

export function benchmarkDir(name: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name))
    throw new Error(`benchmark name ${JSON.stringify(name)} is not valid`)
  return join(resourcesDir(), 'benchmarks', name)
}

export function loadBenchmark(name: string): BenchmarkSpec {
  const file = join(benchmarkDir(name), 'benchmark.json')
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new Error(`benchmark ${name}: cannot read ${file}: ${(err as Error).message}`)
  }
  const parsed = benchmarkSchema.safeParse(raw)
  if (!parsed.success) throw new Error(`benchmark ${name}: ${file}: ${parsed.error.issues[0].message}`)
  return { ...parsed.data, dir: dirname(file) }
}

export function loadItems(spec: BenchmarkSpec): BenchmarkItem[] {
  const file = join(spec.dir, spec.items)
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const item = JSON.parse(line) as BenchmarkItem
      if (typeof item.id !== 'string' || typeof item.prompt !== 'string') {
        throw new Error(`benchmark ${spec.name}: line ${i + 1} of ${file}: an item needs "id" and "prompt"`)
      }
      return item
    })
}

export interface BenchmarkRunOptions {
  modelDir: string
  adapterDir?: string | null
  device?: Device
  cacheDir?: string
  onProgress?: (done: number, total: number, message: string) => void
  signal?: AbortSignal
}

export interface ItemResult {
  sampleKey: string
  prompt: string
  output: string
  expected: string
  score: number
}

export interface BenchmarkRunResult {
  metrics: { score: number; heldOutLoss: number | null; heldOutTokens: number; seconds: number }
  results: ItemResult[]
}

async function heldOutLoss(spec: BenchmarkSpec, options: BenchmarkRunOptions, tokenizer: TextTokenizer) {
  if (!spec.heldOutLoss) return { loss: null, tokens: 0 }
  const scorer = await Scorer.open(
    { modelDir: options.modelDir, adapterDir: options.adapterDir },
    { device: options.device, cacheDir: options.cacheDir }
  )
  try {
    const { vocabSize, maxPositionEmbeddings } = scorer.model.config
    const rows = readScoreRows(resolve(spec.dir, spec.heldOutLoss), () => tokenizer, {
      vocabSize,
      maxPositions: maxPositionEmbeddings
    })
    const scores = await scorer.score(rows)
    const tokens = scores.reduce((sum, s) => sum + s.tokens, 0)
    const logprob = scores.reduce((sum, s) => sum + s.logprob, 0)
    return { loss: tokens > 0 ? -logprob / tokens : null, tokens }
  } finally {
    await scorer.release()
  }
}

export async function runBenchmark(
  spec: BenchmarkSpec,
  options: BenchmarkRunOptions
): Promise<BenchmarkRunResult> {
  const started = performance.now()
  const items = loadItems(spec)
  const tokenizer = loadTokenizer(options.modelDir)
  const generator = await Generator.open(
    { modelDir: options.modelDir, adapterDir: options.adapterDir },
    {
      device: options.device,
      cacheDir: options.cacheDir,
      eosTokenIds: tokenizer.eos ? [tokenizer.eos.id] : []
    }
  )
  const metric: MetricSpec = spec.metric
  const results: ItemResult[] = []
  try {
    for (const item of items) {
      if (options.signal?.aborted) throw new Error(`benchmark ${spec.name}: cancelled`)
      const promptIds =
        item.prompt === ''
          ? encodePrompt(tokenizer, generator.model.config, '')
          : encodeChatPrompt(tokenizer, item.prompt)
      const { text } = await generator.generate(promptIds, tokenizer, {
        maxNewTokens: spec.generation.maxNewTokens,
        temperature: spec.generation.temperature
      })
      const output = text.trim()
      results.push({
        sampleKey: item.id,
        prompt: item.prompt,
        output,
        expected: metric.fields.map((f) => item[f]).join(', '),
        score: scoreCompletion(metric, output, item)
      })
      options.onProgress?.(
        results.length,
        items.length,
        `${spec.name}: ${results.length}/${items.length} items`
      )
    }
  } finally {
    await generator.release()
  }
  const loss = await heldOutLoss(spec, options, tokenizer)
  const score = results.reduce((sum, r) => sum + r.score, 0) / Math.max(1, results.length)
  return {
    metrics: {
      score,
      heldOutLoss: loss.loss,
      heldOutTokens: loss.tokens,
      seconds: (performance.now() - started) / 1000
    },
    results
  }
}
