/**
 * recipes.list as the Recipes view, the new-run form and `finetune-studio recipes` read it: every
 * declared recipe with its group, its needs, its paper and its parameters.
 */
import { describe, expect, it } from 'vitest'
import { recipeInfo } from '../../src-main/api/recipes'
import { listRecipes } from '../../src-main/recipes'
import { RECIPE_GROUPS, REQUIREMENT_LABELS } from '../../src-preload/recipe-labels'
import { useTrainingStore } from './run-fixtures'

describe('recipes.list', () => {
  const fixture = useTrainingStore('fs-recipes-')

  it('gives every declared recipe, without its loss hook', async () => {
    const listed = await fixture.api.call('recipes.list', {})
    expect(listed).toEqual(listRecipes().map(recipeInfo))
    for (const recipe of listed) expect(recipe).not.toHaveProperty('loss')
  })

  it('gives a text parameter as plain data: its check stays in main, where it runs', async () => {
    const s3ft = (await fixture.api.call('recipes.list', {})).find((recipe) => recipe.name === 's3ft')
    const answerRegex = s3ft?.params.find((param) => param.name === 'answer_regex')
    expect(answerRegex).toMatchObject({ type: 'text', default: '#### (\\-?[0-9\\.\\,]+)', maxLength: 500 })
    expect(answerRegex).not.toHaveProperty('check')
    expect(structuredClone(s3ft)).toEqual(s3ft)
  })

  it('files every recipe in a known group with only known needs', async () => {
    const groups = RECIPE_GROUPS.map((label) => label.group)
    for (const recipe of await fixture.api.call('recipes.list', {})) {
      expect(groups, recipe.name).toContain(recipe.group)
      for (const need of recipe.requires) expect(Object.keys(REQUIREMENT_LABELS), recipe.name).toContain(need)
    }
  })

  it('files sft, dft and asft as SFT variants that train on any conversation data', async () => {
    const listed = await fixture.api.call('recipes.list', {})
    for (const name of ['sft', 'dft', 'asft']) {
      expect(listed.find((recipe) => recipe.name === name)).toMatchObject({ group: 'sft', requires: [] })
    }
  })

  it('cites each paper with title, authors, year and a link that matches its arXiv id', async () => {
    for (const { name, paper } of await fixture.api.call('recipes.list', {})) {
      if (!paper) continue
      expect(paper.title.length, name).toBeGreaterThan(0)
      expect(paper.authors.length, name).toBeGreaterThan(0)
      expect(paper.year, name).toBeGreaterThanOrEqual(2017)
      expect(paper.url, name).toMatch(/^https:\/\//)
      if (paper.arxiv) {
        expect(paper.arxiv, name).toMatch(/^\d{4}\.\d{4,5}$/)
        expect(paper.url, name).toContain(paper.arxiv)
      }
    }
  })
})
