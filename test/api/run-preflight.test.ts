/**
 * Pre-flight refuses a recipe whose data does not fit, with a message that says what to do: `dpo`,
 * which needs preference data, on a dataset version whose train samples lack rejected responses.
 */
import { describe, expect, it } from 'vitest'
import { recipeDataProblems } from '../../src-main/api/run-preflight'
import { NODE_BASELINE_BYTES } from '../../src-main/engine/train/memory-estimate'
import { getRecipe } from '../../src-main/recipes'
import type { Conversation } from '../../src-preload/contract'
import { quickRun, useTrainingStore } from './run-fixtures'

function pair(i: number): Conversation {
  return {
    messages: [
      { role: 'user', content: `Tell me story ${i}.` },
      { role: 'assistant', content: 'Once upon a time, a dragon found a stone.' }
    ],
    rejected: [{ role: 'assistant', content: 'No.' }]
  }
}

const NO_PAIRS =
  'dpo needs preference data: this dataset version has no sample with a rejected response — ' +
  'import a preference dataset (chosen/rejected) or pick another recipe'

describe('runs.preflight: the data a recipe needs', () => {
  const fixture = useTrainingStore('fs-run-preflight-')
  const dpo = getRecipe('dpo')

  function versionOf(
    name: string,
    samples: { conversation: Conversation; split: 'train' | 'validation' }[]
  ): number {
    const dataset = fixture.api.store.datasets.create({ name, description: '' })
    fixture.api.store.datasets.addSamples(dataset.id, samples)
    return fixture.api.store.datasets.cutVersion(dataset.id, '').id
  }

  it('refuses dpo on a version without a rejected response, saying what to do', async () => {
    const report = await fixture.api.call('runs.preflight', quickRun(fixture.inputs, { recipe: 'dpo' }))
    expect(report.ok).toBe(false)
    expect(report.errors).toEqual([NO_PAIRS])
    expect(report.estimate.basis).toBe('not estimated: see the errors')
  })

  it('counts only train samples: preference pairs held out for validation do not feed training', () => {
    const heldOut = versionOf('pairs held out', [
      { conversation: { messages: pair(0).messages }, split: 'train' },
      { conversation: pair(1), split: 'validation' }
    ])
    expect(fixture.api.store.datasets.versionPreferenceCounts(heldOut, 'validation')).toEqual({
      samples: 1,
      pairs: 1
    })
    expect(recipeDataProblems(fixture.api.store, dpo, heldOut)).toEqual([NO_PAIRS])
  })

  it('names the train samples without a rejected response in a version that has pairs too', () => {
    const mixed = versionOf('some pairs', [
      { conversation: pair(0), split: 'train' },
      { conversation: { messages: pair(1).messages }, split: 'train' },
      { conversation: { messages: pair(2).messages }, split: 'train' }
    ])
    expect(recipeDataProblems(fixture.api.store, dpo, mixed)).toEqual([
      'dpo needs preference data: 2 of the 3 train samples of this dataset version have no rejected ' +
        'response — give them one, or delete them and cut a new version'
    ])
  })

  it('accepts a version of preference pairs, and asks nothing of recipes without needs', () => {
    const pairs = versionOf(
      'all pairs',
      [0, 1, 2].map((i) => ({ conversation: pair(i), split: 'train' as const }))
    )
    expect(fixture.api.store.datasets.versionPreferenceCounts(pairs, 'train')).toEqual({
      samples: 3,
      pairs: 3
    })
    expect(recipeDataProblems(fixture.api.store, dpo, pairs)).toEqual([])
    expect(recipeDataProblems(fixture.api.store, getRecipe('sft'), fixture.inputs.datasetVersionId)).toEqual(
      []
    )
  })
})

describe('runs.preflight: samples the chat template loses content of', () => {
  const fixture = useTrainingStore('fs-run-preflight-drops-')

  it('refuses them by default, naming the sample, and skips them when asked', async () => {
    const dataset = fixture.api.store.datasets.create({ name: 'tool calls', description: '' })
    const story = pair(0).messages
    // stories260K has no chat template: the plain one renders content only, so the call is lost.
    const calling: Conversation = {
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: 'Let me look.',
          tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: { city: 'Paris' } } }]
        }
      ]
    }
    const [, callingId] = fixture.api.store.datasets.addSamples(dataset.id, [
      { conversation: { messages: story }, split: 'train' },
      { conversation: calling, split: 'train' },
      { conversation: { messages: story }, split: 'train' }
    ])
    const versionId = fixture.api.store.datasets.cutVersion(dataset.id, '').id
    const settings = quickRun(fixture.inputs, { datasetVersionId: versionId })
    const refused = await fixture.api.call('runs.preflight', settings)
    expect(refused.ok).toBe(false)
    expect(refused.errors).toEqual([
      `the chat template leaves content out of 1 of 3 train samples (sample ${callingId}: the chat template ` +
        'leaves out message 1 (assistant): its tool call "get_weather"); fix them, or choose to skip them (templateDrops "skip")'
    ])
    expect(refused.data.dropped).toEqual([
      expect.objectContaining({ sampleId: callingId, kind: 'template_drops' })
    ])
    const skipping = await fixture.api.call('runs.preflight', { ...settings, templateDrops: 'skip' })
    expect(skipping.errors).toEqual([])
    expect(skipping.data.examples).toBe(2)
    expect(skipping.warnings).toContain(
      `the chat template leaves content out of 1 of 3 train samples (sample ${callingId}: the chat template ` +
        'leaves out message 1 (assistant): its tool call "get_weather"); they will be skipped'
    )
  })

  it("estimates memory with the run's base precision and recomputation", async () => {
    const settings = quickRun(fixture.inputs, { basePrecision: 'fp32', recompute: false })
    const fp32 = (await fixture.api.call('runs.preflight', settings)).estimate.memory
    const { weights, trainable, optimizer, activations, logits = 0, runtime = 0, total } = fp32
    expect(total).toBe(weights + trainable + optimizer + activations + logits + runtime)
    expect(runtime).toBeGreaterThanOrEqual(NODE_BASELINE_BYTES)
    const int4 = (
      await fixture.api.call('runs.preflight', { ...settings, basePrecision: 'int4', recompute: true })
    ).estimate.memory
    expect(int4.weights).toBeLessThan(weights)
    expect(int4.activations).toBeLessThan(activations)
  })
})
