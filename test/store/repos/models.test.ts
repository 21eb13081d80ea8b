import { describe, expect, it } from 'vitest'
import { StoreConflictError } from '../../../src-main/store/errors'
import type { ModelRegistration } from '../../../src-main/store/repos/models'
import { openTempStore, seedRunInputs } from '../helpers'

const TINY: ModelRegistration = {
  name: 'tiny',
  path: '/models/tiny',
  architecture: 'LlamaForCausalLM',
  parameterCount: 1234,
  dtype: 'F32',
  contentHash: 'h1',
  config: { hidden_size: 8, num_hidden_layers: 2 }
}

describe('models repository', () => {
  it('registers a model and returns its ModelSummary', () => {
    const { models } = openTempStore()
    const model = models.register(TINY)
    expect(model).toEqual({
      id: model.id,
      name: 'tiny',
      path: '/models/tiny',
      architecture: 'LlamaForCausalLM',
      parameterCount: 1234,
      dtype: 'F32',
      contentHash: 'h1',
      createdAt: expect.stringMatching(/Z$/)
    })
    expect(models.get(model.id)).toEqual(model)
    expect(models.getByPath('/models/tiny')).toEqual(model)
    expect(models.getConfig(model.id)).toEqual(TINY.config)
    expect(models.get(999)).toBeNull()
    expect(models.getByPath('/nowhere')).toBeNull()
  })

  it('updates the existing model when the same path is registered again', () => {
    const { models } = openTempStore()
    const first = models.register(TINY)
    const again = models.register({
      ...TINY,
      name: 'tiny v2',
      contentHash: 'h2',
      config: { hidden_size: 16 }
    })
    expect(again.id).toBe(first.id)
    expect(again).toMatchObject({ name: 'tiny v2', contentHash: 'h2' })
    expect(models.getConfig(first.id)).toEqual({ hidden_size: 16 })
    expect(models.list()).toHaveLength(1)
  })

  it('lists by name, and takes a removed model off the list while get still finds it', () => {
    const { models } = openTempStore()
    const b = models.register({ ...TINY, name: 'b', path: '/b' })
    models.register({ ...TINY, name: 'a', path: '/a' })
    expect(models.list().map((m) => m.name)).toEqual(['a', 'b'])
    expect(models.remove(b.id)).toBe(true)
    expect(models.remove(b.id)).toBe(false)
    expect(models.list().map((m) => m.name)).toEqual(['a'])
    expect(models.get(b.id)).toMatchObject({ name: 'b', path: '/b' })
    expect(models.isListed(b.id)).toBe(false)
    // Registering the folder again brings the same model back.
    expect(models.register({ ...TINY, name: 'b2', path: '/b' }).id).toBe(b.id)
    expect(models.isListed(b.id)).toBe(true)
  })

  it('refuses to remove a model while a run from it is queued; after it ends, the run keeps it', () => {
    const store = openTempStore()
    const inputs = seedRunInputs(store)
    const run = store.runs.create({ name: 'r', config: {}, ...inputs })
    expect(() => store.models.remove(inputs.baseModelId)).toThrow(StoreConflictError)
    expect(() => store.models.remove(inputs.baseModelId)).toThrow(
      `models.remove: base model ${inputs.baseModelId} is used by run ${run.id} "r" (queued); ` +
        'wait for them to finish or cancel them first'
    )
    store.runs.setStatus(run.id, 'cancelled')
    expect(store.models.remove(inputs.baseModelId)).toBe(true)
    expect(store.runs.get(run.id)!.baseModelId).toBe(inputs.baseModelId)
    expect(store.models.runsOf(inputs.baseModelId)).toEqual([
      { id: run.id, name: 'r', status: 'cancelled', createdAt: expect.any(String) }
    ])
    expect(() => store.runs.create({ name: 'r2', config: {}, ...inputs })).toThrow(/or it was removed/)
  })
})
