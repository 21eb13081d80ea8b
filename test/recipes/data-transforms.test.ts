/**
 * The seeded data transforms of the SFT-family recipes, pinned on fixed inputs: the same (seed,
 * epoch, row) always gives the output below.
 */
import { describe, expect, test } from 'vitest'
import { Rng } from '../../src-main/engine/rng'
import { IGNORE_INDEX } from '../../src-main/engine/tokenizer/labels'
import { loadTokenizer } from '../../src-main/engine/tokenizer/tokenizer'
import type { RecipeParams } from '../../src-main/engine/train/loss-hook'
import type { Conversation, TokenExample } from '../../src-main/engine/train/run-hooks'
import { branchFilter, branchingScore } from '../../src-main/recipes/branch-filter'
import { firstStep } from '../../src-main/recipes/first-step'
import { resolveRecipeParams } from '../../src-main/recipes/index'
import { maskedThought } from '../../src-main/recipes/masked-thought'
import { PROMPT_TEMPLATES, promptDiversity } from '../../src-main/recipes/prompt-diversity'
import { spanWeights } from '../../src-main/recipes/span-weights'
import type { Recipe } from '../../src-main/recipes/types'
import { STORIES_260K } from '../helpers/temp'

const context = (params: RecipeParams, epoch = 0, rowIndex = 0) => ({
  epoch,
  rowIndex,
  rng: Rng.fromSeed(7, epoch, rowIndex),
  params
})

function onConversation(
  recipe: Recipe,
  conversation: Conversation,
  params = {},
  epoch = 0
): Conversation | null {
  if (recipe.transform?.level !== 'conversation') throw new Error(`${recipe.name} is not conversation-level`)
  return recipe.transform.apply(conversation, context(resolveRecipeParams(recipe.name, params), epoch))
}

function onTokens(recipe: Recipe, example: TokenExample, params = {}, epoch = 0): TokenExample {
  if (recipe.transform?.level !== 'token') throw new Error(`${recipe.name} is not token-level`)
  const tokenizer = loadTokenizer(STORIES_260K)
  const ctx = { ...context(resolveRecipeParams(recipe.name, params), epoch), maskTokenId: 0, tokenizer }
  return recipe.transform.apply(example, ctx)
}

const X = IGNORE_INDEX

describe('masked-thought', () => {
  const example: TokenExample = {
    inputIds: Int32Array.from([1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]),
    labels: Int32Array.from([X, X, X, 7, 8, 9, 10, 11, 12, 13, 14, 15]),
    weights: Float32Array.from([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1])
  }

  test('masks response inputs only, keeps labels, and pins the seeded draw', () => {
    const out = onTokens(maskedThought, example)
    expect([...out.labels]).toEqual([...example.labels])
    expect([...out.inputIds.subarray(0, 3)]).toEqual([1, 5, 6])
    expect([...out.inputIds]).toEqual([1, 5, 6, 0, 8, 9, 0, 11, 0, 13, 14, 15])
    expect(onTokens(maskedThought, example, {}, 1).inputIds).not.toEqual(out.inputIds)
  })

  test('rate 0 changes nothing, rate 1 masks every response token', () => {
    expect([...onTokens(maskedThought, example, { mask_rate: 0 }).inputIds]).toEqual([...example.inputIds])
    expect([...onTokens(maskedThought, example, { mask_rate: 1 }).inputIds]).toEqual([
      1, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0
    ])
  })
})

describe('first-step', () => {
  const tokenizer = loadTokenizer(STORIES_260K)
  const prompt = tokenizer.encode('Tom had 3 apples.')
  const response = tokenizer.encode('He ate one.\n\nThen he had two.', { addSpecialTokens: false })
  const example: TokenExample = {
    inputIds: Int32Array.from([...prompt, ...response]),
    labels: Int32Array.from([...prompt.map(() => X), ...response]),
    weights: Float32Array.from([...prompt.map(() => 0), ...response.map(() => 1)])
  }

  test('trains up to the first blank line and cuts what follows', () => {
    const out = onTokens(firstStep, example)
    const trained = [...out.labels].filter((label) => label !== X)
    expect(tokenizer.decode(trained)).toBe('He ate one.\n\n')
    expect(out.inputIds.length).toBe(prompt.length + trained.length)
    expect([...out.weights].filter((w) => w > 0)).toHaveLength(trained.length)
  })

  test('a single-step response stays whole', () => {
    const out = onTokens(
      firstStep,
      { ...example, labels: example.labels.map((l, t) => (t < prompt.length ? X : l)) },
      { delimiter: 'line' }
    )
    expect(tokenizer.decode([...out.labels].filter((label) => label !== X))).toBe('He ate one.\n')
    const single = tokenizer.encode('He ate one.', { addSpecialTokens: false })
    const whole = onTokens(firstStep, {
      inputIds: Int32Array.from([...prompt, ...single]),
      labels: Int32Array.from([...prompt.map(() => X), ...single]),
      weights: Float32Array.from([...prompt.map(() => 0), ...single.map(() => 1)])
    })
    expect([...whole.labels].filter((label) => label !== X)).toEqual(single)
  })
})

describe('prompt-diversity', () => {
  const conversation: Conversation = {
    messages: [
      { role: 'user', content: 'Add 2 and 3.' },
      { role: 'assistant', content: '5' }
    ],
    tools: null
  }

  test('re-phrases the first user turn with a seeded template, per epoch', () => {
    const contents = [0, 1, 2, 3].map(
      (epoch) => onConversation(promptDiversity, conversation, {}, epoch)!.messages[0].content
    )
    expect(contents).toEqual([
      'Here is a problem for you.\n\nAdd 2 and 3.',
      'Read carefully, then answer.\n\nAdd 2 and 3.',
      'Instruction: Add 2 and 3.\nResponse:',
      'Question: Add 2 and 3.'
    ])
    for (const content of contents) {
      expect(PROMPT_TEMPLATES.map((template) => template.replace('{prompt}', 'Add 2 and 3.'))).toContain(
        content
      )
    }
    expect(onConversation(promptDiversity, conversation, {}, 2)!.messages[1]).toEqual(
      conversation.messages[1]
    )
    expect(onConversation(promptDiversity, conversation, { rephrase_rate: 0 })).toBe(conversation)
  })
})

describe('branch-filter', () => {
  const trajectory = (text: string): Conversation => ({
    messages: [
      { role: 'user', content: 'Solve it.' },
      { role: 'assistant', content: text }
    ],
    tools: null
  })

  test('scores branching markers per 1,000 words; "But wait" counts once', () => {
    expect(branchingScore('')).toBe(0)
    expect(branchingScore('Wait, that is wrong. But wait, maybe not. Alternatively try x.')).toBeCloseTo(
      3000 / 11,
      10
    )
    expect(branchingScore('Waiting is fine; awaited too.')).toBe(0)
  })

  test('drops rows above the threshold and keeps the rest unchanged', () => {
    const calm = trajectory(Array.from({ length: 200 }, () => 'step').join(' ') + ' Wait done')
    expect(onConversation(branchFilter, calm)).toBe(calm) // 1 marker / 202 words ≈ 4.95 per 1k
    expect(onConversation(branchFilter, calm, { max_markers_per_1k_words: 4 })).toBeNull()
  })
})

describe('span-weights', () => {
  test('scales the weight of assistant turns that call tools, and only those', () => {
    const conversation: Conversation = {
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: 'weather' } }] },
        { role: 'tool', content: 'sunny' },
        { role: 'assistant', content: 'Sunny.', loss_weight: 0.5 },
        { role: 'assistant', content: '', tool_calls: [{}], loss_weight: 0.5 }
      ],
      tools: null
    }
    const out = onConversation(spanWeights, conversation, { tool_call_weight: 3 })!
    expect(out.messages.map((message) => message.loss_weight)).toEqual([undefined, 3, undefined, 0.5, 1.5])
  })
})
