/**
 * Dataset curation throughput: import rows/s on a generated messages JSONL, and full-text search
 * latency (first page of 100 with the count, as datasets.samples answers a search) on generated sets.
 *
 *   npx tsx bench/datasets.ts [--rows 100000] [--sizes 100000,1000000] [--repeats 5] [--quick]
 *
 * The import is timed to its commit (the dataset is there to browse and edit); the search-index
 * job that makes a large import searchable runs after it and is timed on its own. From sources
 * (tsx) the import's reader thread takes about 0.2 s more to start than in the built app.
 *
 * Rows are chat samples of a user turn (~20 words) and an assistant turn (~60 words) drawn from a
 * Zipf-distributed vocabulary of 20,000 made-up words, so search terms range from rare to common
 * like in real text. Each search set is built by the importer itself (same code path as the app).
 * The import runs in this thread, without the job worker's start-up (about a second). "CPU s" is
 * the process's CPU time (user + system): on a shared machine, rows per CPU-second is the figure
 * that does not depend on how much of a core the run was given.
 */
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { importFile } from '../src-main/datasets/import'
import { indexSearchBacklog } from '../src-main/datasets/search-index'
import { openStore, type Store } from '../src-main/store'
import { SEARCH_COUNT_CAP } from '../src-main/store/repos/sample-browse'
import type { SampleFilter } from '../src-preload/contract'

const { values: flags } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    sizes: { type: 'string', default: '100000,1000000' },
    repeats: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false }
  }
})
// --quick: a smoke run of the whole script in seconds.
const importRows = flags.quick ? 10_000 : Number(flags.rows)
const searchSizes = flags.quick ? [10_000] : flags.sizes!.split(',').map(Number)
const repeats = flags.quick ? 2 : Number(flags.repeats)

/** A small deterministic generator (mulberry32), so every run writes the same files. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ra',
  'tu',
  'ne',
  'so',
  'vi',
  'da',
  'pe',
  'zu',
  'ho',
  'ri',
  'ga',
  'be',
  'fo'
]
const VOCABULARY = Array.from({ length: 20000 }, (_, i) => {
  let word = ''
  for (let n = i + 1; n > 0; n = Math.floor(n / SYLLABLES.length)) word += SYLLABLES[n % SYLLABLES.length]
  return word
})
/** Cumulative Zipf(1) weights: word k is drawn with probability ∝ 1/(k+1). */
const CUMULATIVE = (() => {
  const weights = VOCABULARY.map((_, k) => 1 / (k + 1))
  const total = weights.reduce((a, b) => a + b, 0)
  let sum = 0
  return weights.map((w) => (sum += w / total))
})()

function drawWord(next: () => number): string {
  const u = next()
  let low = 0
  let high = CUMULATIVE.length - 1
  while (low < high) {
    const mid = (low + high) >> 1
    if (CUMULATIVE[mid] < u) low = mid + 1
    else high = mid
  }
  return VOCABULARY[low]
}

function sentence(next: () => number, words: number): string {
  return Array.from({ length: words }, () => drawWord(next)).join(' ')
}

/** Writes `rows` chat samples as messages JSONL, in pieces so memory stays small. */
function writeJsonl(file: string, rows: number, seed: number): void {
  const next = random(seed)
  const fd = openSync(file, 'w')
  try {
    for (let at = 0; at < rows; at += 10000) {
      const lines: string[] = []
      for (let i = at; i < Math.min(rows, at + 10000); i++) {
        lines.push(
          JSON.stringify({
            messages: [
              { role: 'user', content: `Question ${i}: ${sentence(next, 20)}?` },
              { role: 'assistant', content: `${sentence(next, 60)}.` }
            ]
          })
        )
      }
      writeSync(fd, lines.join('\n') + '\n')
    }
  } finally {
    closeSync(fd)
  }
}

async function importInto(
  store: Store,
  file: string,
  name: string
): Promise<{
  seconds: number
  cpuSeconds: number
  imported: number
  rssGrowth: number
  indexSeconds: number
}> {
  const rssBefore = process.memoryUsage().rss
  const started = performance.now()
  const cpuStarted = process.cpuUsage()
  const outcome = await importFile(store, {
    file,
    fileType: 'jsonl',
    mapping: { format: 'messages', columns: { messages: 'messages' } },
    datasetName: name,
    split: 'train',
    tags: [],
    onBadRows: 'abort',
    cutVersion: false,
    note: ''
  })
  if (!outcome.ok) throw new Error(outcome.message)
  const cpu = process.cpuUsage(cpuStarted)
  const seconds = (performance.now() - started) / 1000
  const rssGrowth = process.memoryUsage().rss - rssBefore
  // What the app's search-index job does next, in this thread.
  const indexStarted = performance.now()
  await indexSearchBacklog(store)
  return {
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    imported: outcome.imported,
    rssGrowth,
    indexSeconds: (performance.now() - indexStarted) / 1000
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

function table(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))]
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)))
  console.log(`\n${title}`)
  for (const [index, row] of cells.entries()) {
    console.log(
      row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')
    )
    if (index === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  }
}

const workDir = mkdtempSync(join(tmpdir(), 'finetune-studio-bench-datasets-'))
try {
  // Import throughput.
  const importFileName = join(workDir, `import-${importRows}.jsonl`)
  writeJsonl(importFileName, importRows, 1)
  const importStore = openStore(join(workDir, 'import-store'))
  // Into a new dataset (written batch by batch), then the same file again into that dataset
  // (staged, then copied in one transaction, so that a failed import leaves it as it was).
  const runs = [
    ['new dataset', await importInto(importStore, importFileName, 'bench')],
    ['existing dataset', await importInto(importStore, importFileName, 'bench')]
  ] as const
  importStore.close()
  const fileMb = (statSync(importFileName).size / 1e6).toFixed(1)
  table(
    `import: messages JSONL → samples (parsed in a reader thread), then the search-index job`,
    [
      'into',
      'rows',
      'file MB',
      'import s',
      'rows/s',
      'CPU s',
      'rows/CPU-s',
      'RSS growth MB',
      'search index s',
      'searchable rows/s'
    ],
    runs.map(([into, run]) => [
      into,
      run.imported,
      fileMb,
      run.seconds.toFixed(2),
      Math.round(run.imported / run.seconds),
      run.cpuSeconds.toFixed(2),
      Math.round(run.imported / run.cpuSeconds),
      (run.rssGrowth / 1e6).toFixed(0),
      run.indexSeconds.toFixed(2),
      Math.round(run.imported / (run.seconds + run.indexSeconds))
    ])
  )
  rmSync(importFileName)

  // Search latency: what datasets.samples does for a search (count + first page).
  const queries: [string, SampleFilter][] = [
    ['rare word', { search: VOCABULARY[15000] }],
    ['medium word', { search: VOCABULARY[300] }],
    ['common word', { search: VOCABULARY[3] }],
    ['two words (AND)', { search: `${VOCABULARY[40]} ${VOCABULARY[90]}` }],
    ['phrase', { search: `"${VOCABULARY[0]} ${VOCABULARY[1]}"` }],
    ['prefix', { search: `${VOCABULARY[1234].slice(0, 4)}*` }],
    ['word + split filter', { search: VOCABULARY[300], split: 'train' }]
  ]
  const results: (string | number)[][] = []
  for (const size of searchSizes) {
    const file = join(workDir, `search-${size}.jsonl`)
    writeJsonl(file, size, 2)
    const store = openStore(join(workDir, `search-store-${size}`))
    const built = await importInto(store, file, 'search')
    rmSync(file)
    const datasetId = store.datasets.list()[0].id
    for (const [label, filter] of queries) {
      // What the table asks first (the page with a count capped at SEARCH_COUNT_CAP), then the
      // exact count it asks for behind it when the first one was capped.
      const firstTimes: number[] = []
      const exactTimes: number[] = []
      let first = { total: 0, totalExact: true }
      let exact = 0
      for (let r = 0; r < repeats; r++) {
        let started = performance.now()
        first = store.datasets.querySamples(datasetId, { filter, limit: 100 })
        firstTimes.push(performance.now() - started)
        started = performance.now()
        exact = store.datasets.querySamples(datasetId, { filter, limit: 0, exactTotal: true }).total
        exactTimes.push(performance.now() - started)
      }
      results.push([
        size,
        label,
        filter.search!,
        exact,
        `${first.total}${first.totalExact ? '' : '+'}`,
        median(firstTimes).toFixed(1),
        Math.max(...firstTimes).toFixed(1),
        median(exactTimes).toFixed(1)
      ])
    }
    results.push([
      size,
      `(imported at ${Math.round(built.imported / built.seconds)} rows/s, ` +
        `${Math.round(built.imported / built.cpuSeconds)} rows/CPU-s, RSS +${(built.rssGrowth / 1e6).toFixed(0)} MB; ` +
        `indexed for search in ${built.indexSeconds.toFixed(1)} s)`,
      '',
      '',
      '',
      '',
      '',
      '',
      ''
    ])
    store.close()
  }
  table(
    `full-text search: first 100 rows + count capped at ${SEARCH_COUNT_CAP} (what the table shows at ` +
      `once), and the exact count; median of ${repeats}`,
    ['samples', 'query', 'text', 'matches', 'shown', 'first ms', 'first max ms', 'exact count ms'],
    results
  )
} finally {
  rmSync(workDir, { recursive: true, force: true })
}
