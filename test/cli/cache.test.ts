import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DAY_MS, writeFakeWeights } from '../helpers/graph-cache'
import { tempDir } from '../helpers/temp'
import { runCaptured } from './captured-cli'

const cli = (...argv: string[]) => runCaptured(argv)

describe('finetune-studio cache', () => {
  let temp: ReturnType<typeof tempDir>
  let store: string
  let cacheDir: string
  let stale: string
  let older: string
  let newer: string
  beforeEach(() => {
    temp = tempDir()
    store = join(temp.dir, 'store')
    cacheDir = join(store, 'graph-cache')
    const now = Date.now()
    stale = writeFakeWeights(cacheDir, {
      key: 'stale',
      bytes: 3 * 1024 * 1024,
      usedAt: now - 45 * DAY_MS,
      graphs: [{ name: 'train-step-1.onnx', bytes: 2048, usedAt: now - 50 * DAY_MS }]
    })
    older = writeFakeWeights(cacheDir, { key: 'older', bytes: 2 * 1024 * 1024, usedAt: now - 5 * DAY_MS })
    newer = writeFakeWeights(cacheDir, {
      key: 'newer',
      bytes: 1024 * 1024,
      usedAt: now - 2 * DAY_MS,
      graphs: [{ name: 'score-1.onnx', bytes: 1024, usedAt: now - 3 * DAY_MS }]
    })
  })
  afterEach(() => temp.cleanup())

  it('cache list prints every entry with its size and last use, and the total', async () => {
    const { code, out, err } = await cli('cache', 'list', '--store', store)
    expect(err).toBe('')
    expect(code).toBe(0)
    const lines = out.split('\n')
    expect(lines[0]).toMatch(/^KIND\s+SIZE\s+LAST USED\s+PATH$/)
    // Most recently used folder first, each followed by its graphs.
    expect(lines.slice(1, 6)).toEqual([
      expect.stringMatching(/^weights\s+1\.0 MiB\s+2 d ago\s+newer$/),
      expect.stringMatching(/^inference-graph\s+1\.0 KiB\s+3 d ago\s+newer\/score-1\.onnx$/),
      expect.stringMatching(/^weights\s+2\.0 MiB\s+5 d ago\s+older$/),
      expect.stringMatching(/^weights\s+3\.0 MiB\s+45 d ago\s+stale$/),
      expect.stringMatching(/^step-graph\s+2\.0 KiB\s+50 d ago\s+stale\/train-step-1\.onnx$/)
    ])
    expect(lines[6]).toBe(`total 6.0 MiB in 5 entries under ${cacheDir}`)

    const json = JSON.parse((await cli('cache', 'list', '--store', store, '--json')).out) as {
      totalBytes: number
      entries: { kind: string; path: string; bytes: number; lastUsed: string }[]
    }
    expect(json.totalBytes).toBe(6 * 1024 * 1024 + 3072)
    expect(json.entries.map((entry) => entry.path)).toEqual([
      newer,
      join(newer, 'score-1.onnx'),
      older,
      stale,
      join(stale, 'train-step-1.onnx')
    ])
  })

  it('cache prune removes what is too old, then the least recently used over --max-gb', async () => {
    const byAge = await cli('cache', 'prune', '--store', store)
    expect(byAge.code).toBe(0)
    expect(byAge.out.split('\n')).toEqual([
      'removed step-graph stale/train-step-1.onnx (2.0 KiB)',
      'removed weights stale (3.0 MiB)',
      `freed 3.0 MiB (2 entries); 3.0 MiB left in ${cacheDir}`
    ])
    expect(existsSync(stale)).toBe(false)

    const bySize = await cli('cache', 'prune', '--store', store, '--max-gb', '0.0015', '--json')
    expect(bySize.code).toBe(0)
    const result = JSON.parse(bySize.out) as { removed: { path: string }[]; remainingBytes: number }
    // 0.0015 GiB ≈ 1.5 MiB: the least recently used folder goes, and that is enough.
    expect(result.removed.map((entry) => entry.path)).toEqual([older])
    expect(result.remainingBytes).toBe(1024 * 1024 + 1024)
    expect(existsSync(older)).toBe(false)
    expect(existsSync(newer)).toBe(true)
  })

  it('cache prune refuses a negative budget as a usage error', async () => {
    const { code, err } = await cli('cache', 'prune', '--store', store, '--max-age-days=-1')
    expect(code).toBe(2)
    expect(err).toContain('--max-age-days must be a number ≥ 0, got -1')
    expect(existsSync(stale)).toBe(true)
  })
})
