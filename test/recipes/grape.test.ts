/**
 * grape: candidates are grouped by prompt and the choice is the argmax of the base model's
 * length-normalised log-probabilities. On stories260K the choice is checked against scores computed
 * independently by the `score` command, and GRAPE is shown to keep real story sentences over the
 * same words shuffled.
 */
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { loadTokenizer } from '../../src-main/engine/tokenizer/tokenizer'
import { readTrainingData, type TrainingData, type TrainingExample } from '../../src-main/engine/train/data'
import {
  candidateGroups,
  isSelecting,
  selectCandidates,
  selectWithBaseModel,
  type SelectingRecipe
} from '../../src-main/engine/train/selection'
import { train, type TrainEvent } from '../../src-main/engine/train/trainer'
import { mostLikelyCandidate } from '../../src-main/recipes/grape'
import { resolveRecipe } from '../../src-main/recipes/index'
import { runCaptured } from '../cli/captured-cli'
import { storiesConfig, writeJsonl } from '../engine/train/invented-stories'
import { STORIES_260K, tempDir } from '../helpers/temp'

const PROMPTS = [
  'Once upon a time, there was a little girl named Lily.',
  'One day, Tom went to the park with his mom.',
  'There was a big dog who lived in a small house.',
  'Lily saw a pretty bird in the tree.',
  'The sun was warm and the sky was blue.'
]
/** A real next sentence per prompt: what a TinyStories model expects. */
const STORY_SENTENCES = [
  ' She loved to play with her toys in the garden.',
  ' He saw a big red ball and wanted to play with it.',
  ' The dog liked to run and play with his friends.',
  ' She wanted to be friends with the bird.',
  ' Tim and his mom went to the park to play.'
]
/** The same words in a fixed scrambled order: the same tokens, mostly, but no story. */
function shuffledWords(sentence: string): string {
  const words = sentence.trim().split(' ')
  const order = words.map((_, i) => (i * 5 + 3) % words.length)
  return ' ' + order.map((i) => words[i]).join(' ')
}

const temp = tempDir('fs-grape-')
afterAll(() => temp.cleanup())

function example(line: number, prompt: number[], response: number[]): TrainingExample {
  const inputIds = Int32Array.from([...prompt, ...response])
  const labels = Int32Array.from([...prompt.map(() => -100), ...response])
  return { inputIds, labels, weights: Float32Array.from(labels, (label) => (label === -100 ? 0 : 1)), line }
}

function grapeRecipe(): SelectingRecipe {
  const recipe = resolveRecipe('grape')
  if (!isSelecting(recipe)) throw new Error('grape declares no selection')
  return recipe
}

function readStories(file: string): TrainingData {
  return readTrainingData(file, { tokenizer: loadTokenizer(STORIES_260K), maxSeqLen: 256 })
}

describe('grape selection rule', () => {
  test('the best mean log-probability wins; without normalisation the best total does', () => {
    const candidates = [
      { line: 1, logprob: -12, tokens: 3 }, // mean −4, total −12
      { line: 2, logprob: -20, tokens: 10 }, // mean −2, total −20
      { line: 3, logprob: -20, tokens: 10 }
    ]
    expect(mostLikelyCandidate(candidates, true)).toBe(1)
    expect(mostLikelyCandidate(candidates, false)).toBe(0)
  })

  test('rows sharing the tokens before their first trained token are one prompt’s candidates', async () => {
    const rows = [
      example(1, [5, 6], [7, 8]),
      example(2, [5, 9], [7]),
      example(3, [5, 6], [10, 11, 12]),
      example(4, [5, 6, 7], [8])
    ]
    expect(candidateGroups(rows).map((group) => group.map((row) => row.line))).toEqual([[1, 3], [2], [4]])
    const data: TrainingData = {
      examples: rows,
      rowCount: 5,
      truncatedCount: 0,
      dropped: [{ line: 5, reason: 'x' }]
    }
    // Row 3's response is scored as more likely per token than row 1's.
    const perToken = new Map([
      [1, -3],
      [2, -1],
      [3, -2],
      [4, -5]
    ])
    const selected = await selectCandidates(data, grapeRecipe(), async (scored) =>
      scored.map((row, i) => {
        const tokens = row.labels.filter((label) => label !== -100).length
        return { tokenLogprobs: [], logprob: perToken.get(rows[i].line)! * tokens, tokens }
      })
    )
    expect(selected.examples.map((row) => row.line)).toEqual([2, 3, 4])
    expect(selected.dropped).toEqual([
      { line: 1, reason: 'recipe grape kept another candidate for the same prompt (line 3)' },
      { line: 5, reason: 'x' }
    ])
  })
})

describe('grape on stories260K', () => {
  // Per prompt: the story sentence, its shuffled words, and another prompt's story sentence; rows
  // of different prompts interleaved, so grouping cannot lean on file order.
  const rows = [0, 1, 2].flatMap((kind) =>
    PROMPTS.map((prompt, p) => ({
      prompt,
      completion: [
        STORY_SENTENCES[p],
        shuffledWords(STORY_SENTENCES[p]),
        STORY_SENTENCES[(p + 2) % PROMPTS.length]
      ][kind]
    }))
  )
  const dataFile = writeJsonl(join(temp.dir, 'candidates.jsonl'), rows)
  const recipe = grapeRecipe()
  const scoring = storiesConfig(temp.dir, dataFile, 'unused') // the scoring settings of a run

  test('keeps the argmax of the score command’s mean log-probability for every prompt', async () => {
    const data = readStories(dataFile)
    expect(data.examples).toHaveLength(rows.length)
    // The score command gets the same rows' tokens and labels, and scores them on its own.
    const tokenRows = data.examples.map((e) => ({ input_ids: [...e.inputIds], labels: [...e.labels] }))
    const scoreFile = writeJsonl(join(temp.dir, 'score-rows.jsonl'), tokenRows)
    const scored = await runCaptured([
      'score',
      '--model',
      STORIES_260K,
      '--data',
      scoreFile,
      '--store',
      join(temp.dir, 'store')
    ])
    expect(scored.code, scored.err).toBe(0)
    const scores = scored.out
      .split('\n')
      .map((line) => JSON.parse(line) as { logprob: number; tokens: number })
    const expectedLines = PROMPTS.map((_, p) => {
      const candidates = [0, 1, 2].map((kind) => kind * PROMPTS.length + p)
      const means = candidates.map((row) => scores[row].logprob / scores[row].tokens)
      return candidates[means.indexOf(Math.max(...means))] + 1
    })

    const meanOf = (kind: number) =>
      PROMPTS.reduce((sum, _, p) => {
        const { logprob, tokens } = scores[kind * PROMPTS.length + p]
        return sum + logprob / tokens
      }, 0) / PROMPTS.length
    console.info(
      `grape on stories260K: mean log-prob per token — story sentence ${meanOf(0).toFixed(3)}, ` +
        `its words shuffled ${meanOf(1).toFixed(3)}, another prompt's sentence ${meanOf(2).toFixed(3)}; ` +
        `kept lines ${expectedLines.join(', ')}`
    )

    const selected = await selectWithBaseModel(data, recipe, scoring)
    expect(selected.examples.map((e) => e.line)).toEqual([...expectedLines].sort((a, b) => a - b))
    expect(selected.dropped).toHaveLength(rows.length - PROMPTS.length)
  })

  test('keeps the real story sentence over its shuffled words, and the trainer trains only the kept rows', async () => {
    const pairs = PROMPTS.flatMap((prompt, p) => [
      { prompt, completion: shuffledWords(STORY_SENTENCES[p]) },
      { prompt, completion: STORY_SENTENCES[p] }
    ])
    const pairFile = writeJsonl(join(temp.dir, 'story-vs-shuffled.jsonl'), pairs)
    const storyLines = PROMPTS.map((_, p) => 2 * p + 2)
    const selected = await selectWithBaseModel(readStories(pairFile), recipe, scoring)
    expect(selected.examples.map((e) => e.line)).toEqual(storyLines)

    const events: TrainEvent[] = []
    const config = storiesConfig(temp.dir, pairFile, 'run', {
      recipe: { name: 'grape', params: {} },
      maxSteps: 1,
      epochs: null
    })
    await train(config, { resolveRecipe, onEvent: (event) => void events.push(event) })
    const start = events.find((event) => event.type === 'start')
    expect(start).toMatchObject({ examples: PROMPTS.length, rows: pairs.length })
    expect(start!.type === 'start' && start!.dropped.map((row) => row.line)).toEqual(
      storyLines.map((line) => line - 1)
    )
  })
})
