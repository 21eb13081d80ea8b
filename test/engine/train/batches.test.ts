/** Epoch order, the cursor and exact resume, right-padded batches and sequence packing. */
import { describe, expect, test } from 'vitest'
import { BatchStream, collateRows, epochOrder, type DataCursor } from '../../../src-main/engine/train/batches'
import type { TrainingExample } from '../../../src-main/engine/train/data'

const _ = -100

/** Example i: ids 100·(i+1) + t, every token but the first trained with weight i + 1. */
function example(i: number, length: number): TrainingExample {
  return {
    inputIds: Int32Array.from({ length }, (_, t) => 100 * (i + 1) + t),
    labels: Int32Array.from({ length }, (_, t) => (t === 0 ? -100 : 100 * (i + 1) + t)),
    weights: Float32Array.from({ length }, (_, t) => (t === 0 ? 0 : i + 1)),
    line: i + 1
  }
}

const examples = [3, 5, 2, 4, 1, 3, 2].map((length, i) => example(i, Math.max(length, 2)))
const rowsOf = (batch: { examples: number[][] }) => batch.examples.map((row) => row[0])

describe('epochOrder', () => {
  test('file order without shuffling; a seeded permutation per epoch with it', () => {
    expect(epochOrder(5, 3, 42, false)).toEqual([0, 1, 2, 3, 4])
    const first = epochOrder(20, 0, 42, true)
    expect([...first].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(epochOrder(20, 0, 42, true)).toEqual(first)
    expect(epochOrder(20, 1, 42, true)).not.toEqual(first)
    expect(epochOrder(20, 0, 43, true)).not.toEqual(first)
  })
})

describe('BatchStream', () => {
  test('--no-shuffle: batch k holds rows k·B … k·B + B − 1; the epoch’s last batch is smaller', () => {
    const stream = new BatchStream(examples, { batchSize: 3, seed: 1, shuffle: false })
    expect(rowsOf(stream.next())).toEqual([0, 1, 2])
    expect(rowsOf(stream.next())).toEqual([3, 4, 5])
    expect(stream.cursor).toEqual({ epoch: 0, position: 6 })
    expect(rowsOf(stream.next())).toEqual([6])
    expect(stream.cursor).toEqual({ epoch: 1, position: 0 })
    expect(rowsOf(stream.next())).toEqual([0, 1, 2])
    expect(stream.batchesInEpoch(0)).toBe(3)
  })

  test('shuffled: each epoch visits every example once, in a different order', () => {
    const stream = new BatchStream(examples, { batchSize: 2, seed: 7, shuffle: true })
    const epochs: number[][] = [[], []]
    for (let i = 0; i < 8; i++) {
      const epoch = stream.cursor.epoch
      epochs[epoch].push(...rowsOf(stream.next()))
    }
    expect(epochs[0]).toEqual(epochOrder(7, 0, 7, true))
    expect(epochs[1]).toEqual(epochOrder(7, 1, 7, true))
    expect(epochs[0]).not.toEqual(epochs[1])
  })

  test('a stream built from a saved cursor continues exactly like the uninterrupted one', () => {
    const options = { batchSize: 3, seed: 5, shuffle: true, packedLength: 8 }
    const uninterrupted = new BatchStream(examples, options)
    const all = Array.from({ length: 9 }, () => uninterrupted.next())
    const first = new BatchStream(examples, options)
    for (let i = 0; i < 4; i++) first.next()
    const saved = JSON.parse(JSON.stringify(first.cursor)) as DataCursor
    const resumed = new BatchStream(examples, options, saved)
    for (let i = 4; i < 9; i++) expect(resumed.next()).toEqual(all[i])
  })

  test('refuses bad options and cursors, naming the value', () => {
    expect(() => new BatchStream(examples, { batchSize: 0, seed: 1, shuffle: false })).toThrow(
      /batchSize .*got 0/
    )
    expect(() => new BatchStream(examples, { batchSize: 2, seed: -3, shuffle: false })).toThrow(
      /seed .*got -3/
    )
    expect(
      () => new BatchStream(examples, { batchSize: 2, seed: 1, shuffle: false }, { epoch: 0, position: 7 })
    ).toThrow('BatchStream: cursor {epoch: 0, position: 7} does not fit 7 examples')
    expect(
      () => new BatchStream(examples, { batchSize: 2, seed: 1, shuffle: false, packedLength: 4 })
    ).toThrow('BatchStream: the example from line 2 has 5 tokens, more than packedLength 4')
    expect(() => new BatchStream([], { batchSize: 2, seed: 1, shuffle: false })).toThrow(
      /no training examples/
    )
  })
})

describe('collateRows (right padding)', () => {
  test('[B, S] arrays: S is the longest row, padding masked everywhere', () => {
    const batch = collateRows([[0], [2]], examples, { padId: 9 })
    expect([batch.rows, batch.columns]).toEqual([2, 3])
    expect(Array.from(batch.inputIds, Number)).toEqual([100, 101, 102, 300, 301, 9])
    expect(Array.from(batch.attentionMask, Number)).toEqual([1, 1, 1, 1, 1, 0])
    expect(Array.from(batch.labels, Number)).toEqual([_, 101, 102, _, 301, _])
    expect(Array.from(batch.lossWeights)).toEqual([0, 1, 1, 0, 3, 0])
    expect(Array.from(batch.positionIds, Number)).toEqual([0, 1, 2, 0, 1, 0])
    expect(Array.from(batch.segmentIds, Number)).toEqual([1, 1, 1, 1, 1, 0])
    expect(Array.from(batch.sampleWeights)).toEqual([1, 1])
    expect(batch.tokenCount).toBe(5)
    expect(batch.lossWeightTotal).toBe(1 + 1 + 3)
  })

  test('padToMultipleOf rounds S up; padding defaults to id 0', () => {
    const batch = collateRows([[0], [1]], examples, { padToMultipleOf: 8 })
    expect(batch.columns).toBe(8)
    expect(Array.from(batch.inputIds.slice(0, 8), Number)).toEqual([100, 101, 102, 0, 0, 0, 0, 0])
    expect(Array.from(batch.labels.slice(5, 8), Number)).toEqual([_, _, _])
  })
})

describe('sequence packing', () => {
  // lengths: 3, 5, 2, 4, 2, 3, 2
  test('examples fill rows in order; positions restart and segments count per sample', () => {
    const stream = new BatchStream(examples, { batchSize: 2, seed: 1, shuffle: false, packedLength: 7 })
    const batch = stream.next()
    expect(batch.examples).toEqual([[0], [1, 2]]) // 3 + 5 > 7 closes row 0; 5 + 2 = 7 fits
    expect(batch.columns).toBe(7)
    expect(Array.from(batch.positionIds, Number)).toEqual([0, 1, 2, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0, 1])
    expect(Array.from(batch.segmentIds, Number)).toEqual([1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2])
    // the first token of each packed sample is never a target, so no sample predicts the next one's start
    expect(Array.from(batch.labels.slice(7), Number)).toEqual([_, 201, 202, 203, 204, _, 301])
    expect(Array.from(batch.lossWeights.slice(7))).toEqual([0, 2, 2, 2, 2, 0, 3])
    expect(batch.lossWeightTotal).toBe(1 + 1 + 2 * 4 + 3)
    expect(stream.cursor).toEqual({ epoch: 0, position: 3 })
    expect(stream.next().examples).toEqual([
      [3, 4],
      [5, 6]
    ])
    expect(stream.cursor).toEqual({ epoch: 1, position: 0 })
    expect(stream.batchesInEpoch(0)).toBe(2)
  })

  test('every example appears exactly once per epoch, shuffled or not', () => {
    for (const shuffle of [false, true]) {
      const stream = new BatchStream(examples, { batchSize: 2, seed: 3, shuffle, packedLength: 6 })
      const seen: number[] = []
      while (stream.cursor.epoch === 0) seen.push(...stream.next().examples.flat())
      expect(seen).toEqual(epochOrder(7, 0, 3, shuffle))
    }
  })
})

describe('groups of rows (groupSize)', () => {
  const pairs = Array.from({ length: 10 }, (_, i) => example(i, 3)) // 5 groups of 2
  const grouped = { batchSize: 4, seed: 5, shuffle: true, groupSize: 2 }

  test('shuffling moves whole groups, and no batch splits one', () => {
    const order = epochOrder(10, 0, 5, true, 2)
    expect(order).not.toEqual(Array.from({ length: 10 }, (_, i) => i))
    for (let i = 0; i < 10; i += 2) expect(order[i + 1]).toBe(order[i] + 1)
    expect(order.filter((_, i) => i % 2 === 0).map((first) => first / 2)).toEqual(epochOrder(5, 0, 5, true))

    const stream = new BatchStream(pairs, grouped)
    const sizes: number[] = []
    for (let b = 0; b < stream.batchesInEpoch(0); b++) {
      const rows = rowsOf(stream.next())
      sizes.push(rows.length)
      for (let r = 0; r < rows.length; r += 2) expect([rows[r] % 2, rows[r + 1]]).toEqual([0, rows[r] + 1])
    }
    expect(sizes).toEqual([4, 4, 2])
    expect(stream.cursor).toEqual({ epoch: 1, position: 0 })
  })

  test('refuses packing, a batch size that would split a group, a partial group and a mid-group cursor', () => {
    expect(() => new BatchStream(pairs, { ...grouped, packedLength: 16 })).toThrow(
      'packing would split the groups of 2 rows'
    )
    expect(() => new BatchStream(pairs, { ...grouped, batchSize: 3 })).toThrow(
      "batchSize 3 is not a multiple of the recipe's group size 2"
    )
    expect(() => new BatchStream(pairs.slice(0, 9), grouped)).toThrow(
      '9 examples do not make whole groups of 2'
    )
    expect(() => new BatchStream(pairs, grouped, { epoch: 0, position: 3 })).toThrow(
      'cursor {epoch: 0, position: 3} does not fit 10 examples in groups of 2'
    )
  })
})
