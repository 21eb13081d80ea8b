/**
 * The resume key's memory settings: a resume that changes one is refused naming its flag, and a key
 * written before they existed still matches a run that trains as that run did.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { checkResumeKey, configHash, resumeKey } from '../../../src-main/engine/train/resume-key'
import { resolveTrainConfig, type TrainConfig } from '../../../src-main/engine/train/train-config'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { STORIES_260K, tempDir } from '../../helpers/temp'

describe('resume key: memory settings', () => {
  const temp = tempDir('fs-resume-key-')
  let base: TrainConfig
  beforeAll(() => {
    const dataFile = join(temp.dir, 'train.jsonl')
    writeFileSync(dataFile, '{"prompt": "a", "completion": "b"}\n')
    base = resolveTrainConfig(
      { modelDir: STORIES_260K, dataFile, outDir: join(temp.dir, 'out'), maxSteps: 4 },
      resolveRecipe
    )
  })
  afterAll(() => temp.cleanup())
  const keyOf = (change: Partial<TrainConfig>) => resumeKey({ ...base, ...change }, 4)
  const resuming = (saved: Partial<TrainConfig>, now: Partial<TrainConfig>) => () =>
    checkResumeKey(keyOf(saved), keyOf(now), 'step-2')

  test('a different base precision is refused naming --base-precision', () => {
    expect(resuming({ basePrecision: 'int4' }, { basePrecision: 'fp16' })).toThrow(
      'cannot resume exactly from step-2: --base-precision differs (the checkpoint has "int4", this run "fp16")'
    )
    expect(resuming({ basePrecision: 'fp32' }, { basePrecision: 'int8' })).toThrow(
      '--base-precision differs (the checkpoint has "fp32", this run "int8")'
    )
    expect(resuming({ basePrecision: 'bf16' }, { basePrecision: 'bf16' })).not.toThrow()
  })

  test('a different recomputation is refused naming --recompute / --no-recompute', () => {
    expect(resuming({ recompute: true }, { recompute: false })).toThrow(
      '--recompute / --no-recompute differs (the checkpoint has true, this run false)'
    )
    expect(resuming({ recompute: false }, { recompute: true })).toThrow(
      '--recompute / --no-recompute differs (the checkpoint has false, this run true)'
    )
  })

  test('a run that trains as runs before the settings did has the key those runs wrote', () => {
    const asBefore = keyOf({ basePrecision: 'fp32', recompute: false })
    expect(asBefore).not.toHaveProperty('basePrecision')
    expect(asBefore).not.toHaveProperty('recompute')
    const {
      basePrecision: _precision,
      recompute: _recompute,
      ...oldKey
    } = keyOf({
      basePrecision: 'int4',
      recompute: true
    })
    expect(configHash(asBefore)).toBe(configHash(oldKey))
    expect(() => checkResumeKey(oldKey, asBefore, 'step-2')).not.toThrow()
    expect(() => checkResumeKey(oldKey, keyOf({ recompute: true }), 'step-2')).toThrow(
      '--recompute / --no-recompute differs (the checkpoint has false, this run true)'
    )
    expect(() =>
      checkResumeKey(oldKey, keyOf({ recompute: false, basePrecision: 'int8' }), 'step-2')
    ).toThrow('--base-precision differs (the checkpoint has "fp32", this run "int8")')
  })
})
