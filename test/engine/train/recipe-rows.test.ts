/** Samples → the rows a recipe trains on: group sizes, the rows() step and its checks. */
import { describe, expect, test } from 'vitest'
import type { EpochData } from '../../../src-main/engine/train/epoch-data'
import type { LossHook, ResolvedRecipe } from '../../../src-main/engine/train/loss-hook'
import { recipeGroupSize, recipeRows, withRecipeRows } from '../../../src-main/engine/train/recipe-rows'
import type { TrainingExample } from '../../../src-main/engine/train/data'
import { resolveRecipe } from '../../../src-main/recipes/index'

const tokens = (...ids: number[]) => ({
  inputIds: Int32Array.from(ids),
  labels: Int32Array.from(ids, (id, t) => (t === 0 ? -100 : id)),
  weights: Float32Array.from(ids, (_, t) => (t === 0 ? 0 : 1))
})
const pair = (line: number): TrainingExample => ({
  ...tokens(1, line, line),
  line,
  rejected: tokens(1, 50 + line)
})

/** Each sample repeated `copies` times (an integer parameter names the group size). */
const repeat: LossHook = {
  name: 'repeat',
  needs: {},
  groupSize: 'copies',
  rows: (sample, params) => Array.from({ length: params.copies as number }, () => sample),
  loss: () => {
    throw new Error('not built here')
  }
}

describe('recipe rows', () => {
  test('dpo: chosen then rejected, both carrying the sample’s line; plain recipes keep samples as they are', () => {
    const dpo = resolveRecipe('dpo')
    expect(recipeGroupSize(dpo)).toBe(2)
    const rows = recipeRows(dpo, [pair(3), pair(4)])
    expect(rows.map((row) => [row.line, [...row.inputIds], row.rejected])).toEqual([
      [3, [1, 3, 3], undefined],
      [3, [1, 53], undefined],
      [4, [1, 4, 4], undefined],
      [4, [1, 54], undefined]
    ])
    const sft = resolveRecipe('sft')
    const samples = [pair(1)]
    expect(recipeGroupSize(sft)).toBe(1)
    expect(recipeRows(sft, samples)).toEqual(samples)
  })

  test('a group size named by a parameter, and the count each sample must give', () => {
    const recipe: ResolvedRecipe = { hook: repeat, params: { copies: 3 } }
    expect(recipeGroupSize(recipe)).toBe(3)
    expect(recipeRows(recipe, [pair(1)])).toHaveLength(3)
    expect(() => recipeGroupSize({ hook: repeat, params: { copies: 0 } })).toThrow(
      'recipe repeat: groupSize "copies" must be a positive integer (parameter copies is 0)'
    )
    const short: ResolvedRecipe = { hook: { ...repeat, groupSize: 4 }, params: { copies: 3 } }
    expect(() => recipeRows(short, [pair(7)])).toThrow(
      'recipe repeat: the sample from line 7 gave 3 rows, not its group size 4'
    )
    expect(() => recipeRows(resolveRecipe('dpo'), [{ ...pair(9), rejected: undefined }])).toThrow(
      'dpo: the sample from line 9 has no rejected response'
    )
  })

  test('each epoch’s rows are made once per epoch of samples', () => {
    let derived = 0
    const samples = { examples: [pair(1)], rowCount: 1, truncatedCount: 0, dropped: [] }
    const data: EpochData = { rowCount: 1, epoch: () => (derived++, samples) }
    const rows = withRecipeRows(data, resolveRecipe('dpo'))
    expect(rows.epoch(0)).toBe(rows.epoch(0))
    expect(rows.epoch(0).examples).toHaveLength(2)
    expect(derived).toBe(3)
  })
})
