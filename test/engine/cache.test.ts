/** The graph cache's upkeep: listing, age and size pruning, its safeguards, and last use recorded by the engine. */
import { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { listCacheEntries, pruneCache, recordCacheUse, type CacheEntry } from '../../src-main/engine/cache'
import { readModelConfig } from '../../src-main/engine/checkpoint/hf-config'
import { Scorer } from '../../src-main/engine/infer/scoring'
import { prepareWeights } from '../../src-main/engine/models/weights'
import { createStepProgram } from '../../src-main/engine/train/compile-step'
import type { StepProgramSpec } from '../../src-main/engine/train/step-program'
import { resolveRecipe } from '../../src-main/recipes/index'
import { DAY_MS, HOUR_MS, writeFakeWeights } from '../helpers/graph-cache'
import { STORIES_260K, tempDir } from '../helpers/temp'
import { goldenBatch } from './train/golden-batch'

/** A whole second, so mtimes set from it read back exactly. */
const NOW = Math.floor(Date.now() / 1000) * 1000

function summary(entries: readonly CacheEntry[]) {
  return entries
    .map((entry) => ({
      kind: entry.kind,
      path: entry.path,
      bytes: entry.bytes,
      lastUsedAt: entry.lastUsedAt
    }))
    .sort((a, b) => a.path.localeCompare(b.path))
}

function paths(entries: readonly CacheEntry[]): string[] {
  return entries.map((entry) => entry.path).sort()
}

describe('the graph cache', () => {
  let temp: ReturnType<typeof tempDir>
  let cacheDir: string
  beforeEach(() => {
    temp = tempDir()
    cacheDir = join(temp.dir, 'graph-cache')
  })
  afterEach(() => temp.cleanup())

  it('lists weights folders and their graphs with sizes and last use; a folder was used when its graphs were', () => {
    const old = writeFakeWeights(cacheDir, {
      key: 'old',
      bytes: 1000,
      usedAt: NOW - 10 * DAY_MS,
      graphs: [
        { name: 'train-step-abc.onnx', bytes: 30, usedAt: NOW - 12 * DAY_MS },
        { name: 'score-123.onnx', bytes: 20, usedAt: NOW - 2 * DAY_MS }
      ]
    })
    const fresh = writeFakeWeights(cacheDir, { key: 'fresh', bytes: 500, usedAt: NOW - HOUR_MS })
    // A write in progress belongs to its folder's own bytes.
    writeFileSync(join(fresh, '.weights.bin.123.abcd.tmp'), Buffer.alloc(7))
    utimesSync(
      join(fresh, '.weights.bin.123.abcd.tmp'),
      new Date(NOW - 2 * HOUR_MS),
      new Date(NOW - 2 * HOUR_MS)
    )

    expect(summary(listCacheEntries(cacheDir))).toEqual([
      { kind: 'weights', path: fresh, bytes: 507, lastUsedAt: NOW - HOUR_MS },
      { kind: 'weights', path: old, bytes: 1000, lastUsedAt: NOW - 2 * DAY_MS },
      { kind: 'inference-graph', path: join(old, 'score-123.onnx'), bytes: 20, lastUsedAt: NOW - 2 * DAY_MS },
      { kind: 'step-graph', path: join(old, 'train-step-abc.onnx'), bytes: 30, lastUsedAt: NOW - 12 * DAY_MS }
    ])
    expect(listCacheEntries(join(temp.dir, 'nothing-here'))).toEqual([])
  })

  it('removes entries unused for longer than maxAgeDays, a folder with all its graphs', () => {
    const stale = writeFakeWeights(cacheDir, {
      key: 'stale',
      bytes: 1000,
      usedAt: NOW - 40 * DAY_MS,
      graphs: [{ name: 'score-1.onnx', bytes: 10, usedAt: NOW - 35 * DAY_MS }]
    })
    const kept = writeFakeWeights(cacheDir, {
      key: 'kept',
      bytes: 1000,
      usedAt: NOW - 10 * DAY_MS,
      graphs: [
        { name: 'train-step-old.onnx', bytes: 20, usedAt: NOW - 31 * DAY_MS },
        { name: 'train-step-new.onnx', bytes: 40, usedAt: NOW - 5 * DAY_MS }
      ]
    })

    const result = pruneCache(cacheDir, { maxAgeDays: 30, now: NOW })

    expect(paths(result.removed)).toEqual(
      [join(kept, 'train-step-old.onnx'), join(stale, 'score-1.onnx'), stale].sort()
    )
    expect(result.freedBytes).toBe(1030)
    expect(result.remainingBytes).toBe(1040)
    expect(existsSync(stale)).toBe(false)
    expect(readdirSync(kept).sort()).toEqual(['last-used', 'train-step-new.onnx', 'weights.bin'])
    expect(readdirSync(cacheDir)).toEqual(['kept'])
  })

  it('removes the least recently used entries until the cache fits in maxBytes', () => {
    const oldest = writeFakeWeights(cacheDir, { key: 'a', bytes: 1000, usedAt: NOW - 5 * DAY_MS })
    const middle = writeFakeWeights(cacheDir, {
      key: 'b',
      bytes: 1000,
      usedAt: NOW - 3 * DAY_MS,
      graphs: [{ name: 'generate-9.onnx', bytes: 100, usedAt: NOW - 4 * DAY_MS }]
    })
    const newest = writeFakeWeights(cacheDir, { key: 'c', bytes: 1000, usedAt: NOW - DAY_MS })

    const first = pruneCache(cacheDir, { maxBytes: 2100, now: NOW })
    expect(paths(first.removed)).toEqual([oldest])
    expect(first).toMatchObject({ freedBytes: 1000, remainingBytes: 2100 })

    // The graph is older than its folder, so it goes first, and alone frees enough.
    const second = pruneCache(cacheDir, { maxBytes: 2000, now: NOW })
    expect(paths(second.removed)).toEqual([join(middle, 'generate-9.onnx')])
    expect(existsSync(middle)).toBe(true)

    const third = pruneCache(cacheDir, { maxBytes: 1500, now: NOW })
    expect(paths(third.removed)).toEqual([middle])
    expect(third.remainingBytes).toBe(1000)
    expect(paths(listCacheEntries(cacheDir))).toEqual([newest])
  })

  it('never removes an entry used within the last hour, however small the budget', () => {
    const recent = writeFakeWeights(cacheDir, {
      key: 'recent',
      bytes: 1000,
      usedAt: NOW - 2 * DAY_MS,
      // Using a graph uses its folder: the folder stays with it.
      graphs: [{ name: 'score-1.onnx', bytes: 10, usedAt: NOW - 30 * 60 * 1000 }]
    })
    const idle = writeFakeWeights(cacheDir, { key: 'idle', bytes: 1000, usedAt: NOW - 2 * HOUR_MS })

    const result = pruneCache(cacheDir, { maxBytes: 0, maxAgeDays: 0, now: NOW })

    expect(paths(result.removed)).toEqual([idle])
    expect(result.remainingBytes).toBe(1010)
    expect(paths(listCacheEntries(cacheDir))).toEqual([recent, join(recent, 'score-1.onnx')])
  })

  it('keeps the paths in protect, and the folder of a protected graph', () => {
    const guarded = writeFakeWeights(cacheDir, { key: 'guarded', bytes: 100, usedAt: NOW - 90 * DAY_MS })
    const holder = writeFakeWeights(cacheDir, {
      key: 'holder',
      bytes: 100,
      usedAt: NOW - 90 * DAY_MS,
      graphs: [
        { name: 'train-step-kept.onnx', bytes: 10, usedAt: NOW - 90 * DAY_MS },
        { name: 'train-eval-gone.onnx', bytes: 10, usedAt: NOW - 90 * DAY_MS }
      ]
    })
    const loose = writeFakeWeights(cacheDir, { key: 'loose', bytes: 100, usedAt: NOW - 90 * DAY_MS })

    const result = pruneCache(cacheDir, {
      maxBytes: 0,
      now: NOW,
      protect: [guarded, join(holder, 'train-step-kept.onnx')]
    })

    expect(paths(result.removed)).toEqual([join(holder, 'train-eval-gone.onnx'), loose])
    expect(paths(listCacheEntries(cacheDir))).toEqual([guarded, holder, join(holder, 'train-step-kept.onnx')])
  })

  it('finishes what an interrupted removal left and never lists it', () => {
    writeFakeWeights(cacheDir, { key: 'live', bytes: 100, usedAt: NOW - DAY_MS })
    // A prune killed between its rename and the deletion leaves this.
    const leftover = writeFakeWeights(cacheDir, {
      key: '.removing-dead-4242-0badf00d',
      bytes: 300,
      usedAt: NOW - 50 * DAY_MS,
      graphs: [{ name: 'score-1.onnx', bytes: 5, usedAt: NOW - 50 * DAY_MS }]
    })
    expect(paths(listCacheEntries(cacheDir))).toEqual([join(cacheDir, 'live')])

    const result = pruneCache(cacheDir, { now: NOW })

    expect(result.finishedLeftovers).toEqual([leftover])
    expect(result.removed).toEqual([])
    expect(result.freedBytes).toBe(305)
    expect(readdirSync(cacheDir)).toEqual(['live'])
  })

  it('leaves nothing hidden behind after removing folders', () => {
    for (const key of ['x', 'y']) writeFakeWeights(cacheDir, { key, bytes: 10, usedAt: NOW - 60 * DAY_MS })
    mkdirSync(join(cacheDir, 'empty-but-old'))
    utimesSync(join(cacheDir, 'empty-but-old'), new Date(NOW - 60 * DAY_MS), new Date(NOW - 60 * DAY_MS))
    expect(pruneCache(cacheDir, { now: NOW }).removed).toHaveLength(3)
    expect(readdirSync(cacheDir)).toEqual([])
  })

  it('rejects a budget that is not a number ≥ 0', () => {
    expect(() => pruneCache(cacheDir, { maxBytes: -1 })).toThrow(/maxBytes must be a number ≥ 0, got -1/)
    expect(() => pruneCache(cacheDir, { maxAgeDays: Number.NaN })).toThrow(/maxAgeDays .* got NaN/)
  })

  it('recordCacheUse creates a missing marker and does not create a missing graph', () => {
    const folder = join(cacheDir, 'k')
    mkdirSync(folder, { recursive: true })
    recordCacheUse(folder)
    expect(readdirSync(folder)).toEqual(['last-used'])
    recordCacheUse(join(folder, 'score-gone.onnx'))
    expect(readdirSync(folder)).toEqual(['last-used'])
  })
})

describe('the engine records last use', () => {
  const temp = tempDir()
  const cacheDir = join(temp.dir, 'graph-cache')
  afterAll(() => temp.cleanup())

  /** Pretends everything in the cache was last touched `days` ago. */
  function ageCache(days: number): number {
    const time = new Date(NOW - days * DAY_MS)
    for (const name of readdirSync(cacheDir, { recursive: true, encoding: 'utf8' })) {
      utimesSync(join(cacheDir, name), time, time)
    }
    return time.getTime()
  }

  function entryOf(kind: CacheEntry['kind']): CacheEntry {
    const found = listCacheEntries(cacheDir).filter((entry) => entry.kind === kind)
    expect(found).toHaveLength(1)
    return found[0]
  }

  const stepSpec: StepProgramSpec = {
    modelDir: STORIES_260K,
    adapter: { kind: 'lora', r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'] },
    optimizer: { kind: 'sgd', momentum: 0, weightDecay: 0 },
    recipe: resolveRecipe('sft'),
    device: 'cpu',
    cacheDir,
    seed: 1,
    packed: false
  }

  it('when weights, inference graphs and step graphs are found again, and at every training step', async () => {
    const config = readModelConfig(STORIES_260K)
    const weights = prepareWeights({ modelDir: STORIES_260K }, config, cacheDir)
    const aged = ageCache(40)
    const convertedAt = statSync(join(weights.dir, 'weights.bin')).mtimeMs

    prepareWeights({ modelDir: STORIES_260K }, config, cacheDir)
    expect(statSync(join(weights.dir, 'weights.bin')).mtimeMs).toBe(convertedAt) // found, not converted
    expect(entryOf('weights').lastUsedAt).toBeGreaterThan(aged + 39 * DAY_MS)

    await (await Scorer.open({ modelDir: STORIES_260K }, { cacheDir, threads: 1 })).release()
    ageCache(40)
    await (await Scorer.open({ modelDir: STORIES_260K }, { cacheDir, threads: 1 })).release()
    expect(entryOf('inference-graph').lastUsedAt).toBeGreaterThan(aged + 39 * DAY_MS)

    await (await createStepProgram(stepSpec)).release()
    ageCache(40)
    const program = await createStepProgram(stepSpec)
    try {
      expect(program.graphs[0].fromCache).toBe(true)
      expect(entryOf('step-graph').lastUsedAt).toBeGreaterThan(aged + 39 * DAY_MS)

      ageCache(40)
      await program.step([goldenBatch('llama-untied')], { lr: 1e-3, step: 1, maxGradNorm: 0 })
      expect(entryOf('step-graph').lastUsedAt).toBe(aged)
      expect(entryOf('weights').lastUsedAt).toBeGreaterThan(aged + 39 * DAY_MS)
    } finally {
      await program.release()
    }

    // Pruned away, the weights are converted again on their next use.
    ageCache(40)
    expect(
      pruneCache(cacheDir)
        .removed.map((entry) => entry.kind)
        .sort()
    ).toEqual(['inference-graph', 'step-graph', 'weights'])
    expect(prepareWeights({ modelDir: STORIES_260K }, config, cacheDir).dir).toBe(weights.dir)
    expect(existsSync(join(weights.dir, 'weights.bin'))).toBe(true)
  })
})
