/** A run's configuration: the defaults it fills in and the errors that name a setting by its flag. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { TRAIN_CONFIG_FILE } from '../../../src-main/engine/train/checkpoints'
import { resolveTrainConfig, type TrainConfig } from '../../../src-main/engine/train/train-config'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { STORIES_260K, tempDir } from '../../helpers/temp'

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

  test('memory settings: float32 base and recomputation by default, checked by their flags', () => {
    expect(resolveTrainConfig(required(), resolveRecipe)).toMatchObject({
      basePrecision: 'fp32',
      recompute: true
    })
    expect(
      resolveTrainConfig({ ...required(), basePrecision: 'int4', recompute: false }, resolveRecipe)
    ).toMatchObject({ basePrecision: 'int4', recompute: false })
    expect(() =>
      resolveTrainConfig(
        { ...required(), basePrecision: 'int3' as TrainConfig['basePrecision'] },
        resolveRecipe
      )
    ).toThrow('--base-precision must be one of fp32, fp16, bf16, int8, int4, got "int3"')
    expect(() =>
      resolveTrainConfig({ ...required(), adapter: { kind: 'full' }, basePrecision: 'bf16' }, resolveRecipe)
    ).toThrow(
      "--base-precision applies to LoRA's frozen base; full fine-tuning trains float32 weights " +
        '(got --base-precision bf16 with --adapter full)'
    )
    expect(
      resolveTrainConfig({ ...required(), adapter: { kind: 'full' }, basePrecision: 'fp32' }, resolveRecipe)
        .basePrecision
    ).toBe('fp32')
  })

  describe('a configuration read back from before the memory settings', () => {
    const temp = tempDir('fs-train-config-')
    afterAll(() => temp.cleanup())
    /** A checkpoint folder whose train_config.json holds `saved`. */
    const checkpoint = (name: string, saved: Record<string, unknown>) => {
      const dir = join(temp.dir, name, 'checkpoints', 'step-2')
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, TRAIN_CONFIG_FILE), JSON.stringify(saved))
      return dir
    }
    /** What a run stored before basePrecision and recompute existed. */
    const oldStored = () => {
      const {
        basePrecision: _precision,
        recompute: _recompute,
        ...old
      } = resolveTrainConfig({ ...required(), maxSteps: 4 }, resolveRecipe)
      return old
    }

    test('resumes without recomputation and with a float32 base, as it trained', () => {
      const resumeFrom = checkpoint('old', oldStored())
      const config = resolveTrainConfig({ ...oldStored(), resumeFrom }, resolveRecipe)
      expect(config).toMatchObject({ basePrecision: 'fp32', recompute: false })
    })

    test("a resume that leaves recomputation out keeps the checkpoint's; one that gives it, its own", () => {
      const resumeFrom = checkpoint('new', { ...oldStored(), recompute: true })
      expect(resolveTrainConfig({ ...required(), resumeFrom }, resolveRecipe).recompute).toBe(true)
      const old = checkpoint('old-given', oldStored())
      expect(
        resolveTrainConfig({ ...required(), resumeFrom: old, recompute: true }, resolveRecipe).recompute
      ).toBe(true)
    })

    test('starting over (no checkpoint) takes the default', () => {
      expect(resolveTrainConfig({ ...oldStored(), resumeFrom: null }, resolveRecipe).recompute).toBe(true)
    })

    test("a checkpoint's unreadable train_config.json is named", () => {
      const dir = checkpoint('broken', {})
      writeFileSync(join(dir, TRAIN_CONFIG_FILE), '{not json')
      expect(() => resolveTrainConfig({ ...required(), resumeFrom: dir }, resolveRecipe)).toThrow(
        `--resume: cannot read ${join(dir, TRAIN_CONFIG_FILE)}`
      )
    })
  })
})
