/**
 * self-correction-format pinned on fixed inputs: the review conversation it builds from a plain row
 * (confirm) and from a preference row (revise), its seeded mix with plain SFT, and the examples the
 * trainer derives from a preference file (the rejected side shown, never trained).
 */
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { DEFAULT_REVIEW_PROMPT } from '../../src-preload/contract/evaluations'
import { Rng } from '../../src-main/engine/rng'
import { IGNORE_INDEX } from '../../src-main/engine/tokenizer/labels'
import { loadTokenizer } from '../../src-main/engine/tokenizer/tokenizer'
import { readEpochData } from '../../src-main/engine/train/epoch-data'
import type { Conversation } from '../../src-main/engine/train/run-hooks'
import { resolveRecipe, resolveRecipeParams } from '../../src-main/recipes/index'
import {
  CONFIRM_LEAD,
  REVISE_LEAD,
  selfCorrectionFormat
} from '../../src-main/recipes/self-correction-format'
import { STORIES_260K, tempDir } from '../helpers/temp'
import { writeJsonl } from '../engine/train/invented-stories'

function formatted(conversation: Conversation, params = {}, rowIndex = 0): Conversation | null {
  const { transform } = selfCorrectionFormat
  if (transform?.level !== 'conversation') throw new Error('self-correction-format is conversation-level')
  return transform.apply(conversation, {
    epoch: 0,
    rowIndex,
    rng: Rng.fromSeed(7, 0, rowIndex),
    params: resolveRecipeParams('self-correction-format', params)
  })
}

const question = { role: 'user', content: 'What is 2 + 3?' }
const plain: Conversation = {
  messages: [question, { role: 'assistant', content: '2 + 3 = 5.' }],
  tools: null
}

/** The review conversation expected after `first`: first untrained, the review prompt, `second` trained. */
const review = (first: string, second: string): Conversation => ({
  messages: [
    question,
    { role: 'assistant', content: first, loss_weight: 0 },
    { role: 'user', content: DEFAULT_REVIEW_PROMPT },
    { role: 'assistant', content: second }
  ],
  tools: null
})

describe('self-correction-format', () => {
  test('the review prompt is the one self-correction evaluation asks', () => {
    expect(DEFAULT_REVIEW_PROMPT).toBe('Review your previous answer and correct it if needed.')
  })

  test('a row without a rejected response: the gold answer first, untrained, then the confirmation', () => {
    expect(formatted(plain)).toEqual(review('2 + 3 = 5.', 'My previous answer is correct.\n\n2 + 3 = 5.'))
    expect(CONFIRM_LEAD).toBe('My previous answer is correct.')
  })

  test('a preference row: the rejected answer first, untrained, then the revision to the chosen one', () => {
    const out = formatted({
      ...plain,
      rejected: [question, { role: 'assistant', content: '2 + 3 = 6.' }]
    })
    expect(out).toEqual(
      review('2 + 3 = 6.', 'My previous answer is wrong. The correct answer:\n\n2 + 3 = 5.')
    )
    expect(REVISE_LEAD).toBe('My previous answer is wrong. The correct answer:')
  })

  test('a rejected answer equal to the chosen one is confirmed, not revised', () => {
    const out = formatted({ ...plain, rejected: plain.messages })
    expect(out!.messages.at(-1)!.content.startsWith(CONFIRM_LEAD)).toBe(true)
  })

  test('a row that does not end with an answer trains as it is', () => {
    const unanswered: Conversation = { messages: [question], tools: null }
    expect(formatted(unanswered)).toEqual(unanswered)
  })

  test('format_rate mixes review rows with plain SFT rows, seeded per row', () => {
    const kinds = [0, 1, 2, 3, 4, 5, 6, 7].map((row) =>
      formatted(plain, { format_rate: 0.5 }, row)!.messages.length === 4 ? 'review' : 'plain'
    )
    expect(kinds).toEqual(['review', 'plain', 'review', 'review', 'plain', 'plain', 'review', 'review'])
    expect(formatted({ ...plain, rejected: plain.messages }, { format_rate: 0 })).toEqual(plain)
  })
})

describe('self-correction-format on a preference file', () => {
  const temp = tempDir('fs-self-correction-format-')
  afterAll(() => temp.cleanup())

  test('trains only the revision; the rejected answer and the review prompt are context', () => {
    const file = writeJsonl(join(temp.dir, 'pairs.jsonl'), [
      {
        messages: [
          { role: 'user', content: 'Tom had 3 apples.' },
          { role: 'assistant', content: 'He had 3.' }
        ],
        rejected: [{ role: 'assistant', content: 'He had 4.' }]
      },
      {
        messages: [
          { role: 'user', content: 'Lily had a cat.' },
          { role: 'assistant', content: 'The cat was big.' }
        ]
      }
    ])
    const tokenizer = loadTokenizer(STORIES_260K)
    const data = readEpochData(
      file,
      { tokenizer, maxSeqLen: 256 },
      resolveRecipe('self-correction-format'),
      7
    ).epoch(0)
    const trained = data.examples.map((example) =>
      tokenizer.decode(
        [...example.labels].filter((label) => label !== IGNORE_INDEX),
        {
          skipSpecialTokens: true
        }
      )
    )
    const read = data.examples.map((example) =>
      tokenizer.decode([...example.inputIds], { skipSpecialTokens: true })
    )
    expect(trained[0]).toContain(`${REVISE_LEAD}\n\nHe had 3.`)
    expect(trained[0]).not.toContain('He had 4.')
    expect(read[0]).toContain('He had 4.')
    expect(read[0]).toContain(DEFAULT_REVIEW_PROMPT)
    expect(trained[1]).toContain(`${CONFIRM_LEAD}\n\nThe cat was big.`)
    expect(data.examples.every((example) => example.rejected === undefined)).toBe(true)
  })
})
