/**
 * The memory settings (base precision, recomputation) through the API on the embedded stories260K:
 * runs.preflight checks them, runs.start carries them into the configuration the trainer writes, and
 * a run recorded before they existed continues with the numerics it trained with.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BASE_PRECISIONS as CONTRACT_PRECISIONS } from '../../src-preload/contract'
import { BASE_PRECISIONS } from '../../src-main/engine/models/base-precision'
import { TRAIN_CONFIG_FILE } from '../../src-main/engine/train/checkpoints'
import { quickRun, useTrainingStore } from './run-fixtures'

describe('run memory settings', () => {
  const fixture = useTrainingStore('fs-run-memory-')
  const savedConfig = (checkpointDir: string) =>
    JSON.parse(readFileSync(join(checkpointDir, TRAIN_CONFIG_FILE), 'utf8')) as Record<string, unknown>

  it('offers the precisions the engine has', () => {
    expect(CONTRACT_PRECISIONS).toEqual(BASE_PRECISIONS)
  })

  it('preflight refuses a quantized base for full fine-tuning and an unknown precision, naming them', async () => {
    const full = await fixture.api.call(
      'runs.preflight',
      quickRun(fixture.inputs, { adapter: 'full', lora: undefined, basePrecision: 'int4' })
    )
    expect(full.ok).toBe(false)
    expect(full.errors[0]).toContain(
      "--base-precision applies to LoRA's frozen base; full fine-tuning trains float32 weights"
    )
    await expect(
      fixture.api.call('runs.preflight', quickRun(fixture.inputs, { basePrecision: 'int3' }))
    ).rejects.toThrow(/basePrecision/)
  })

  it('runs.start trains with the settings given and writes them in train_config.json', async () => {
    const run = await fixture.api.call(
      'runs.start',
      quickRun(fixture.inputs, { maxSteps: 2, saveEvery: 2, basePrecision: 'fp16', recompute: false })
    )
    expect((await fixture.api.runs.waitForRun(run.id)).status).toBe('completed')
    const detail = await fixture.api.call('runs.get', { id: run.id })
    expect(detail.config).toMatchObject({ basePrecision: 'fp16', recompute: false })
    expect(savedConfig(detail.checkpoints.at(-1)!.path)).toMatchObject({
      basePrecision: 'fp16',
      recompute: false
    })
    const defaults = await fixture.api.call('runs.start', quickRun(fixture.inputs, { maxSteps: 1 }))
    const started = await fixture.api.call('runs.get', { id: defaults.id })
    expect(started.config).toMatchObject({ basePrecision: 'fp32', recompute: true })
    await fixture.api.runs.waitForRun(defaults.id)
  })

  it('continues a run recorded before the settings without recomputation, as it trained', async () => {
    const run = await fixture.api.call(
      'runs.start',
      quickRun(fixture.inputs, { lrScheduler: 'constant', maxSteps: 2, saveEvery: 2, recompute: false })
    )
    expect((await fixture.api.runs.waitForRun(run.id)).status).toBe('completed')
    // Make it a run of before the settings: its record and checkpoint without them. Its resume key
    // is already what such a run wrote (float32 base, no recomputation: neither is in the key).
    const {
      basePrecision: _p,
      recompute: _r,
      ...oldConfig
    } = fixture.api.store.runs.getRecord(run.id)!.config
    fixture.api.store.runs.setConfig(run.id, oldConfig)
    const checkpoint = (await fixture.api.call('runs.get', { id: run.id })).checkpoints.at(-1)!.path
    const { basePrecision: _cp, recompute: _cr, ...oldSaved } = savedConfig(checkpoint)
    writeFileSync(join(checkpoint, TRAIN_CONFIG_FILE), JSON.stringify(oldSaved))

    await fixture.api.call('runs.continue', { id: run.id, addSteps: 1 })
    expect(await fixture.api.runs.waitForRun(run.id)).toMatchObject({
      status: 'completed',
      progress: { step: 3 }
    })
    expect((await fixture.api.call('runs.get', { id: run.id })).config).toMatchObject({
      basePrecision: 'fp32',
      recompute: false
    })
  })
})
