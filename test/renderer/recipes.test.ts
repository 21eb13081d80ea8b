/**
 * Recipes in the renderer, without a DOM: the groups the Recipes view and the CLI show, the words
 * of the generated parameter form, its values carried into the run draft and sent as the run's
 * recipe parameters, and a recipe's own metrics grouped into charts.
 */
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import type { RecipeInfo, RunPreflight, RunSummary } from '../../src-preload/contract'
import { recipesByGroup, REQUIREMENT_LABELS } from '../../src-preload/recipe-labels'
import { recipeMetricGroups } from '../../src-renderer/src/components/runs/metricSeries'
import { paramHint, recipeDefaults } from '../../src-renderer/src/components/runs/recipeParams'
import { useRecipesStore } from '../../src-renderer/src/stores/recipes'
import { useRunDraftStore } from '../../src-renderer/src/stores/runDraft'
import { installScriptedBridge, ok } from './scripted-bridge'

const bridge = installScriptedBridge()

function recipe(name: string, extra: Partial<RecipeInfo> = {}): RecipeInfo {
  return {
    name,
    title: `${name} title`,
    summary: `What ${name} does.`,
    paper: null,
    group: 'sft',
    requires: [],
    params: [],
    usesBaseModel: false,
    ...extra
  }
}

/** A preference recipe with one parameter of every kind the form generates a control for. */
const pairwise = recipe('pairwise', {
  group: 'preference',
  requires: ['preference-data'],
  paper: {
    title: 'A Paper on Pairs',
    authors: 'Ada Lovelace, Alan Turing',
    year: 2024,
    arxiv: '2401.00001',
    url: 'https://arxiv.org/abs/2401.00001'
  },
  params: [
    { name: 'beta', description: 'temperature of the implicit reward', type: 'number', default: 0.1, min: 0 },
    { name: 'pairs', description: 'pairs per prompt', type: 'integer', default: 1, min: 1, max: 8 },
    { name: 'normalize', description: 'Divide by length.', type: 'boolean', default: false },
    {
      name: 'loss_type',
      description: 'the pairwise loss',
      type: 'choice',
      choices: ['sigmoid', 'ipo', 'hinge'],
      default: 'sigmoid'
    }
  ]
})

beforeEach(() => {
  setActivePinia(createPinia())
  bridge.reset()
})

describe('recipe groups', () => {
  it('files recipes under SFT variants, data selection, preference and RL, in that order', () => {
    const grouped = recipesByGroup([
      recipe('sft'),
      pairwise,
      recipe('pick', { group: 'selection' }),
      recipe('dft')
    ])
    expect(grouped.map(({ label, recipes }) => [label.title, recipes.map((r) => r.name)])).toEqual([
      ['SFT variants', ['sft', 'dft']],
      ['Data selection', ['pick']],
      ['Preference', ['pairwise']],
      ['RL', []]
    ])
  })

  it('keeps an empty group, with its note that it is coming instead of a card', () => {
    const [, selection, , rl] = recipesByGroup([recipe('sft')])
    expect(selection.recipes).toEqual([])
    expect(selection.label.comingNote).toMatch(/coming/)
    expect(rl.label.comingNote).toMatch(/coming/)
  })

  it('names what a recipe needs in words', () => {
    expect(pairwise.requires.map((need) => REQUIREMENT_LABELS[need])).toEqual(['needs preference data'])
    expect(REQUIREMENT_LABELS['answer-checker']).toBe('needs a checker for answers')
    expect(REQUIREMENT_LABELS['reasoning-steps']).toBe('needs reasoning steps')
  })
})

describe('the generated parameter form', () => {
  it('says under each field what it does, its default and its range', () => {
    expect(pairwise.params.map(paramHint)).toEqual([
      'temperature of the implicit reward — default 0.1, at least 0',
      'pairs per prompt — default 1, from 1 to 8, whole numbers',
      'Divide by length — default false',
      'the pairwise loss — default sigmoid'
    ])
  })

  it('starts from the declared defaults', () => {
    expect(recipeDefaults(pairwise)).toEqual({ beta: 0.1, pairs: 1, normalize: false, loss_type: 'sigmoid' })
  })
})

describe('recipe parameters in the run draft', () => {
  async function draftWithRecipes() {
    bridge.handle('recipes.list', () => ok([recipe('sft'), pairwise]))
    await useRecipesStore().load()
    const store = useRunDraftStore()
    Object.assign(store.draft, { baseModelId: 3, datasetVersionId: 5 })
    return store
  }

  it('sends number, integer, boolean and choice values as the run’s recipe parameters, typed', async () => {
    const store = await draftWithRecipes()
    store.chooseRecipe('pairwise')
    expect(store.built.settings!.recipeParams).toEqual({
      beta: 0.1,
      pairs: 1,
      normalize: false,
      loss_type: 'sigmoid'
    })
    // As the fields set them: NumberField gives numbers, CheckField booleans, SelectField the choice.
    store.draft.recipeParams = { ...store.draft.recipeParams, beta: 0.25, pairs: 2 }
    store.draft.recipeParams = { ...store.draft.recipeParams, normalize: true, loss_type: 'hinge' }
    expect(store.built.settings).toMatchObject({
      recipe: 'pairwise',
      recipeParams: { beta: 0.25, pairs: 2, normalize: true, loss_type: 'hinge' }
    })
  })

  it('takes over the values of a Recipes card’s form, over the defaults', async () => {
    const store = await draftWithRecipes()
    store.chooseRecipe('pairwise', { normalize: true, loss_type: 'ipo' })
    expect(store.draft.recipeParams).toEqual({ beta: 0.1, pairs: 1, normalize: true, loss_type: 'ipo' })
    store.chooseRecipe('sft')
    expect(store.draft.recipeParams).toEqual({})
    expect(store.built.settings!.recipeParams).toEqual({})
  })

  it('sends a text parameter to runs.start as the field holds it, and hints its default and length', async () => {
    const judged = recipe('judged', {
      params: [
        {
          name: 'answer_regex',
          description: 'The answer pattern.',
          type: 'text',
          default: '#### (\\d+)',
          maxLength: 500
        }
      ]
    })
    expect(judged.params.map(paramHint)).toEqual([
      'The answer pattern — default "#### (\\d+)", at most 500 characters'
    ])
    bridge.handle('recipes.list', () => ok([judged]))
    bridge.handle('runs.preflight', () => ok({ ok: true } as RunPreflight))
    bridge.handle('runs.start', () => ok({ id: 9 } as RunSummary))
    await useRecipesStore().load()
    const store = useRunDraftStore()
    Object.assign(store.draft, { baseModelId: 3, datasetVersionId: 5 })
    store.chooseRecipe('judged')
    expect(store.draft.recipeParams).toEqual({ answer_regex: '#### (\\d+)' })
    // As the one-line input sets it: the text typed, unparsed.
    store.draft.recipeParams = { answer_regex: 'The answer is (\\S+)' }
    await store.checkPreflight()
    await store.start()
    expect(bridge.callsOf('runs.start').map((settings) => settings.recipeParams)).toEqual([
      { answer_regex: 'The answer is (\\S+)' }
    ])
  })

  it('names an emptied number field instead of sending it', async () => {
    const store = await draftWithRecipes()
    store.chooseRecipe('pairwise', { beta: '' })
    expect(store.built.settings).toBeNull()
    expect(store.built.problems).toEqual(['Recipe parameter beta must be a value'])
  })
})

describe('recipe metrics in the run charts', () => {
  it('draws the metrics that share a group on one chart, each other recipe metric on its own', () => {
    const names = [
      'loss',
      'recipe/rewards/margins',
      'eval/arc_easy/acc,none',
      'recipe/kl',
      'recipe/rewards/chosen',
      'recipe/rewards/accuracies',
      'recipe/rewards/rejected',
      'eval_loss'
    ]
    expect(recipeMetricGroups(names)).toEqual([
      { group: 'kl', metrics: [{ name: 'recipe/kl', label: 'kl' }] },
      {
        group: 'rewards',
        metrics: [
          { name: 'recipe/rewards/accuracies', label: 'accuracies' },
          { name: 'recipe/rewards/chosen', label: 'chosen' },
          { name: 'recipe/rewards/margins', label: 'margins' },
          { name: 'recipe/rewards/rejected', label: 'rejected' }
        ]
      }
    ])
  })

  it('charts a rollout’s throughput apart from its sampling temperature and entropy', () => {
    const names = [
      'recipe/rollout/entropy',
      'recipe/rollout/temperature',
      'recipe/rollout/tokens',
      'recipe/rollout/tokens_per_s'
    ]
    expect(
      recipeMetricGroups(names).map(({ group, metrics }) => [group, metrics.map((m) => m.label)])
    ).toEqual([
      ['rollout sampling', ['entropy', 'temperature']],
      ['rollout throughput', ['tokens', 'tokens_per_s']]
    ])
  })

  it('has no chart when the recipe reports no metrics', () => {
    expect(recipeMetricGroups(['loss', 'lr', 'eval_loss'])).toEqual([])
  })
})
