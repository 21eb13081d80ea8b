import { describe, expect, it } from 'vitest'
import { openTempStore } from '../helpers'

describe('recipes repository', () => {
  it('inserts a recipe and reads it back by name and id', () => {
    const { recipes } = openTempStore()
    const schema = { type: 'object', properties: { rank: { type: 'integer' } } }
    const recipe = recipes.upsert({ name: 'sft-lora', version: 1, description: 'LoRA', paramsSchema: schema })
    expect(recipe).toEqual({
      id: recipe.id,
      name: 'sft-lora',
      version: 1,
      description: 'LoRA',
      paramsSchema: schema,
      createdAt: expect.stringMatching(/Z$/)
    })
    expect(recipes.getByName('sft-lora')).toEqual(recipe)
    expect(recipes.get(recipe.id)).toEqual(recipe)
    expect(recipes.getByName('nope')).toBeNull()
  })

  it('updates a recipe of the same name in place, keeping its id', () => {
    const { recipes } = openTempStore()
    const v1 = recipes.upsert({ name: 'dpo', version: 1, description: 'old', paramsSchema: {} })
    const v2 = recipes.upsert({ name: 'dpo', version: 2, description: 'new', paramsSchema: { beta: 0.1 } })
    expect(v2).toMatchObject({ id: v1.id, version: 2, description: 'new', paramsSchema: { beta: 0.1 } })
    recipes.upsert({ name: 'cpt', version: 1, description: '', paramsSchema: {} })
    expect(recipes.list().map((r) => [r.name, r.version])).toEqual([
      ['cpt', 1],
      ['dpo', 2]
    ])
  })
})
