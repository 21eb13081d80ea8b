/**
 * What the new-run wizard and the Recipes and Compare views read: recipes.list from the recipe
 * declarations, models.validate, runs.preflight (token counts, dropped samples, the template
 * preview, plan and estimates), runs.compare (series and a diff of only the differing settings)
 * and system.resources.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseNvidiaSmi, queryGpus } from '../../src-main/api/system-resources'
import { listRecipes } from '../../src-main/recipes/index'
import { defaultModelDir } from '../../src-main/resources'
import { quickRun, useTrainingStore } from './run-fixtures'

describe('run planning calls', () => {
  const fixture = useTrainingStore('fs-run-planning-')

  it('lists every declared recipe with its paper and parameters', async () => {
    const recipes = await fixture.api.call('recipes.list', {})
    expect(recipes.map((r) => r.name)).toEqual(listRecipes().map((r) => r.name))
    const asft = recipes.find((r) => r.name === 'asft')!
    expect(asft).toMatchObject({
      title: 'Anchored Supervised Fine-Tuning (ASFT)',
      paper: { arxiv: '2509.23753', year: 2025 },
      usesBaseModel: true,
      params: [{ name: 'kl_weight', type: 'number', default: 0.1, min: 0, max: 100 }]
    })
    expect(recipes.find((r) => r.name === 'sft')).toMatchObject({
      paper: null,
      params: [],
      usesBaseModel: false
    })
  })

  it('validates model folders, naming what is wrong', async () => {
    const embedded = await fixture.api.call('models.validate', { path: defaultModelDir() })
    expect(embedded).toMatchObject({
      ok: true,
      architecture: 'LlamaForCausalLM',
      dtype: 'F32',
      hasTokenizer: true,
      chatTemplate: 'fallback',
      errors: []
    })
    expect(embedded.parameterCount).toBeGreaterThan(200_000)
    expect(embedded.warnings[0]).toMatch(/no chat_template/)

    const empty = join(fixture.folder, 'empty-model')
    mkdirSync(empty)
    expect((await fixture.api.call('models.validate', { path: empty })).errors).toEqual([
      `${empty} has no config.json (expected a Hugging Face model folder)`,
      `${empty} has no tokenizer.json: text samples cannot be tokenized`
    ])
    const gpt2 = join(fixture.folder, 'gpt2')
    mkdirSync(gpt2)
    writeFileSync(join(gpt2, 'config.json'), JSON.stringify({ architectures: ['GPT2LMHeadModel'] }))
    const refused = await fixture.api.call('models.validate', { path: gpt2 })
    expect(refused.ok).toBe(false)
    expect(refused.errors[0]).toContain('GPT2LMHeadModel')
  })

  it('preflights a run: counts, drops with reasons, template preview, plan and estimates', async () => {
    const dataset = fixture.api.store.datasets.create({ name: 'with a bad sample', description: '' })
    const good = {
      messages: [
        { role: 'user' as const, content: 'Hi' },
        { role: 'assistant' as const, content: 'Hello there.' }
      ]
    }
    const [kept, , noAnswer] = fixture.api.store.datasets.addSamples(dataset.id, [
      { conversation: good, split: 'train' },
      { conversation: good, split: 'train' },
      { conversation: { messages: [{ role: 'user', content: 'Nobody answers.' }] }, split: 'train' }
    ])
    const version = fixture.api.store.datasets.cutVersion(dataset.id, '')
    const report = await fixture.api.call(
      'runs.preflight',
      quickRun(
        { ...fixture.inputs, datasetVersionId: version.id },
        { maxSteps: undefined, epochs: 2, batchSize: 1 }
      )
    )
    expect(report.ok).toBe(true)
    expect(report.data).toMatchObject({
      trainSamples: 3,
      validationSamples: 0,
      examples: 2,
      droppedCount: 1,
      dropped: [{ sampleId: noAnswer, line: 3, reason: 'no trained tokens' }]
    })
    expect(report.data.tokens.trained).toBeGreaterThan(0)
    expect(report.data.tokens.total).toBeGreaterThan(report.data.tokens.trained)
    expect(report.warnings).toContainEqual(
      expect.stringMatching(/^1 of 3 train samples will be left out: no trained tokens/)
    )
    expect(report.warnings).toContainEqual(expect.stringMatching(/no validation samples/))
    expect(report.preview!.sampleId).toBe(kept)
    expect(report.preview!.text).toContain('User: Hi\nAssistant:')
    const trained = report.preview!.spans.map((s) => report.preview!.text.slice(s.start, s.end))
    expect(trained).toEqual([' Hello there.</s>'])
    expect(report.plan).toEqual({ totalSteps: 4, stepsPerEpoch: 2, epochs: 2, examplesPerStep: 1 })
    const { memory } = report.estimate
    const parts = [memory.weights, memory.trainable, memory.optimizer, memory.activations]
    const sum = [...parts, memory.logits ?? 0, memory.runtime ?? 0].reduce((a, b) => a + b, 0)
    expect(memory.total).toBeCloseTo(sum, 0)
    expect(memory.trainable).toBeLessThan(memory.weights)
    expect(report.estimate.secondsPerStep).toBeGreaterThan(0)
    expect(report.estimate.totalSeconds).toBeCloseTo(4 * report.estimate.secondsPerStep)
    expect(report.estimate.basis).toMatch(/^heuristic/)

    const tooLong = await fixture.api.call(
      'runs.preflight',
      quickRun(fixture.inputs, { lora: { targets: ['qq_proj'] } })
    )
    expect(tooLong.ok).toBe(false)
    expect(tooLong.errors[0]).toContain('--lora-targets must be a list of')
  })

  it('compares runs: their series and only the settings that differ; later estimates are measured', async () => {
    const a = await fixture.api.call('runs.start', quickRun(fixture.inputs, { maxSteps: 6, lr: 0.01 }))
    const b = await fixture.api.call('runs.start', quickRun(fixture.inputs, { maxSteps: 6, lr: 0.02 }))
    for (const run of [a, b]) expect((await fixture.api.runs.waitForRun(run.id)).status).toBe('completed')
    const comparison = await fixture.api.call('runs.compare', { ids: [a.id, b.id] })
    expect(comparison.runs.map((r) => r.id)).toEqual([a.id, b.id])
    expect(comparison.configDiff).toContainEqual({ key: 'lr', values: { [a.id]: 0.01, [b.id]: 0.02 } })
    const keys = comparison.configDiff.map((d) => d.key)
    expect(keys).not.toContain('batchSize')
    expect(keys).not.toContain('outDir')
    expect(keys).not.toContain('dataHash')
    const losses = comparison.series.filter((s) => s.name === 'loss')
    expect(losses.map((s) => [s.runId, s.points.length])).toEqual([
      [a.id, 6],
      [b.id, 6]
    ])
    expect(
      comparison.series.filter((s) => s.name === 'eval_loss').map((s) => s.points.map((p) => p.step))
    ).toEqual([
      [0, 6],
      [0, 6]
    ])
    await expect(fixture.api.call('runs.compare', { ids: [a.id] })).rejects.toMatchObject({
      code: 'invalid_input'
    })

    const measured = await fixture.api.call('runs.preflight', quickRun(fixture.inputs))
    expect(measured.estimate.basis).toMatch(/^measured: \d+ tokens\/s \(median\) in run \d+/)
  })

  it('compares settings once each: the recipe by its config key, without the re-planned schedule of a continue', async () => {
    const recipeId = (name: string) =>
      fixture.api.store.recipes.upsert({ name, version: 1, description: name, paramsSchema: {} }).id
    const recorded = (recipe: string, replanSchedule: boolean) =>
      fixture.api.store.runs.create({
        name: `${recipe} run`,
        recipeId: recipeId(recipe),
        baseModelId: fixture.inputs.baseModelId,
        datasetVersionId: fixture.inputs.datasetVersionId,
        config: { recipe: { name: recipe, params: {} }, maxSteps: replanSchedule ? 60 : 40, replanSchedule }
      })
    const sft = recorded('sft', false)
    const continuedDft = recorded('dft', true)
    const comparison = await fixture.api.call('runs.compare', { ids: [sft.id, continuedDft.id] })
    expect(comparison.configDiff.map((row) => row.key).sort()).toEqual(['maxSteps', 'recipe.name'])
  })

  it('reports machine resources, and GPUs only where nvidia-smi exists', async () => {
    const resources = await fixture.api.call('system.resources', {})
    expect(resources.cpu.cores).toBeGreaterThan(0)
    expect(resources.cpu.machinePercent).toBeGreaterThanOrEqual(0)
    expect(resources.cpu.machinePercent).toBeLessThanOrEqual(100)
    expect(resources.memory.machineUsedBytes).toBeLessThan(resources.memory.machineTotalBytes)
    expect(resources.memory.processRssBytes).toBeGreaterThan(0)

    expect(await queryGpus(join(fixture.folder, 'no-such-nvidia-smi'))).toEqual({
      gpus: null,
      gpuError: null
    })
    const fake = join(fixture.folder, 'nvidia-smi')
    writeFileSync(
      fake,
      '#!/bin/sh\necho "0, NVIDIA H200, 1024, 143771, 37"\necho "1, NVIDIA H200, 0, 143771, 0"\n'
    )
    chmodSync(fake, 0o755)
    const { gpus } = await queryGpus(fake)
    expect(gpus).toEqual([
      {
        index: 0,
        name: 'NVIDIA H200',
        memoryUsedBytes: 1024 * 2 ** 20,
        memoryTotalBytes: 143771 * 2 ** 20,
        utilizationPercent: 37
      },
      {
        index: 1,
        name: 'NVIDIA H200',
        memoryUsedBytes: 0,
        memoryTotalBytes: 143771 * 2 ** 20,
        utilizationPercent: 0
      }
    ])
    expect(() => parseNvidiaSmi('0, broken')).toThrow(/expected 5 fields/)
  })
})
