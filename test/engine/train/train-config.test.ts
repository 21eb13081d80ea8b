/** A run's configuration: the defaults it fills in and the errors that name a setting by its flag. */
import { describe, expect, test } from 'vitest'
import { resolveTrainConfig } from '../../../src-main/engine/train/train-config'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { STORIES_260K } from '../../helpers/temp'

describe('resolveTrainConfig', () => {
  const required = () => ({ modelDir: STORIES_260K, dataFile: 'd.jsonl', outDir: 'o' })

  test('fills defaults', () => {
    const c = resolveTrainConfig(required(), resolveRecipe)
    expect(c.adapter).toEqual({
      kind: 'lora',
      r: 8,
      alpha: 16,
      dropout: 0,
      targets: ['q_proj', 'v_proj'],
      initAdapterDir: null
    })
    expect(c.optimizer).toEqual({ kind: 'adamw', betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 })
    expect(c).toMatchObject({
      recipe: { name: 'sft', params: {} },
      epochs: 1,
      maxSteps: null,
      lr: 2e-4,
      shuffle: true
    })
    expect(
      resolveTrainConfig({ ...required(), recipe: { name: 'asft', params: {} } }, resolveRecipe).recipe.params
    ).toEqual({
      kl_weight: 0.1
    })
  })

  test('errors name the setting and the value', () => {
    expect(() => resolveTrainConfig({ ...required(), batchSize: 0 }, resolveRecipe)).toThrow(
      '--batch-size must be a positive integer, got 0'
    )
    expect(() => resolveTrainConfig({ ...required(), maxSteps: 3, epochs: 2 }, resolveRecipe)).toThrow(
      'exactly one of --max-steps and --epochs'
    )
    expect(() =>
      resolveTrainConfig({ ...required(), adapter: { kind: 'lora', targets: ['qq_proj'] } }, resolveRecipe)
    ).toThrow(/--lora-targets must be a list of .*, got "qq_proj"/)
    expect(() =>
      resolveTrainConfig(
        { ...required(), recipe: { name: 'asft', params: { kl_weight: -1 } } },
        resolveRecipe
      )
    ).toThrow(/kl_weight must be ≥ 0, got -1/)
  })
})
