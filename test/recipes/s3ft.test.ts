/**
 * s3ft on stories260K: a gold response equal to the model's greedy answer (produced first with the
 * Generator) is replaced by the model's own tokens, a wrong gold is kept under `exact`, the choice
 * is the recipe state, and a resumed run rebuilds its data from it without generating again.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, test, vi } from 'vitest'
import { Generator } from '../../src-main/engine/infer/generation'
import { loadTokenizer } from '../../src-main/engine/tokenizer/tokenizer'
import { TRAINER_STATE_FILE } from '../../src-main/engine/train/checkpoints'
import { readTrainingData } from '../../src-main/engine/train/data'
import { isAnswering, withOwnAnswers, type AnsweringRecipe } from '../../src-main/engine/train/own-answers'
import { train, type TrainEvent } from '../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../src-main/recipes/index'
import { answersAgree, lastNumber } from '../../src-main/recipes/s3ft'
import { storiesConfig, writeJsonl } from '../engine/train/invented-stories'
import { STORIES_260K, tempDir } from '../helpers/temp'

const temp = tempDir('fs-s3ft-')
afterAll(() => temp.cleanup())

const MAX_NEW_TOKENS = 12
const PROMPTS = ['Once upon a time, there was a little girl named Lily.', 'One day, Tom went to the park.']
const WRONG_GOLD = ' The purple elephant sang about taxes.'

function s3ftRecipe(): AnsweringRecipe {
  const recipe = resolveRecipe('s3ft', { judge: 'exact', max_new_tokens: MAX_NEW_TOKENS })
  if (!isAnswering(recipe)) throw new Error('s3ft declares no own-answer stage')
  return recipe
}

describe('s3ft judges', () => {
  test('exact ignores whitespace runs and case; numeric compares the last numbers', () => {
    expect(answersAgree('  The  Cat\nsat ', 'the cat sat', 'exact')).toBe(true)
    expect(answersAgree('the cat sat.', 'the cat sat', 'exact')).toBe(false)
    expect(lastNumber('3 apples, then 1,250.5 pears')).toBe(1250.5)
    expect(answersAgree('so the answer is 42', 'Step 1: 6*7 = 42', 'numeric')).toBe(true)
    expect(answersAgree('41 or 42?', 'it is 41', 'numeric')).toBe(false)
    expect(answersAgree('no number', 'none here', 'numeric')).toBe(false)
  })

  test('regex compares the first capture group of each, by default the number after GSM8K’s ####', () => {
    expect(answersAgree('6*7 is 42.\n#### 42', 'Six sevens.\n#### 42', 'regex')).toBe(true)
    expect(answersAgree('#### 41', '#### 42', 'regex')).toBe(false)
    expect(answersAgree('it is 42', '#### 42', 'regex')).toBe(false)
    const pattern = 'The answer is (\\S+)'
    expect(answersAgree('So. The answer is B', 'The answer is B, since …', 'regex', pattern)).toBe(false)
    expect(answersAgree('So. The answer is B ok', 'The answer is B since', 'regex', pattern)).toBe(true)
    expect(answersAgree('no answer here', 'no answer here', 'regex', pattern)).toBe(false)
  })

  test('the regex judge reaches the recipe through answer_regex; a bad pattern is refused at resolve time', () => {
    const recipe = resolveRecipe('s3ft', { judge: 'regex', answer_regex: 'answer: ([a-z]+)' })
    if (!isAnswering(recipe)) throw new Error('s3ft declares no own-answer stage')
    expect(recipe.hook.answer.accept('answer: yes', 'the answer: yes', recipe.params)).toBe(true)
    expect(recipe.hook.answer.accept('answer: no', 'the answer: yes', recipe.params)).toBe(false)
    // Look-behind backtracks; RE2 has none, so the pattern is refused before any training starts.
    expect(() => resolveRecipe('s3ft', { judge: 'regex', answer_regex: '(?<=#)(\\d+)' })).toThrow(
      /recipe s3ft: parameter answer_regex: "\(\?<=#\)\(\\\\d\+\)" is refused/
    )
  })
})

describe('s3ft on stories260K', () => {
  const tokenizer = loadTokenizer(STORIES_260K)
  const read = (file: string) => readTrainingData(file, { tokenizer, maxSeqLen: 256 })

  /** The model's greedy answer to the first prompt, as the Generator writes it. */
  async function greedyAnswer(): Promise<{ text: string; tokenIds: number[]; promptIds: number[] }> {
    const probe = read(writeJsonl(join(temp.dir, 'probe.jsonl'), [{ prompt: PROMPTS[0], completion: ' x' }]))
    const example = probe.examples[0]
    const promptIds = [
      ...example.inputIds.subarray(
        0,
        example.labels.findIndex((label) => label !== -100)
      )
    ]
    const generator = await Generator.open({ modelDir: STORIES_260K }, { cacheDir: join(temp.dir, 'cache') })
    try {
      const result = await generator.generate(promptIds, tokenizer, {
        maxNewTokens: MAX_NEW_TOKENS,
        temperature: 0
      })
      return { text: result.text, tokenIds: result.tokenIds, promptIds }
    } finally {
      await generator.release()
    }
  }

  test('trains on the model’s own answer where it equals the gold, keeps a wrong gold, and resumes without generating', async () => {
    const own = await greedyAnswer()
    const dataFile = writeJsonl(join(temp.dir, 'train.jsonl'), [
      { prompt: PROMPTS[0], completion: own.text },
      { prompt: PROMPTS[1], completion: WRONG_GOLD }
    ])
    const config = (out: string, resumeFrom?: string) =>
      storiesConfig(temp.dir, dataFile, out, {
        recipe: { name: 's3ft', params: { judge: 'exact', max_new_tokens: MAX_NEW_TOKENS } },
        adapter: { kind: 'full' },
        batchSize: 1,
        maxSteps: 4,
        epochs: null,
        saveEvery: 2,
        resumeFrom
      })

    const gold = read(dataFile)
    const { data, record } = await withOwnAnswers(gold, s3ftRecipe(), tokenizer, config('probe'), undefined)
    expect(record).toEqual({ ownAnswers: { '1': own.tokenIds } })
    expect([...data.examples[0].inputIds]).toEqual([...own.promptIds, ...own.tokenIds])
    expect([...data.examples[0].labels]).toEqual([...own.promptIds.map(() => -100), ...own.tokenIds])
    expect(data.examples[1]).toBe(gold.examples[1])
    // The gold text tokenizes differently from what the model wrote (its end-of-sequence token).
    expect([...gold.examples[0].inputIds]).not.toEqual([...data.examples[0].inputIds])

    const open = vi.spyOn(Generator, 'open')
    const full: TrainEvent[] = []
    await train(config('full'), { resolveRecipe, onEvent: (event) => void full.push(event) })
    expect(open).toHaveBeenCalledTimes(1)
    const saved = JSON.parse(
      readFileSync(join(temp.dir, 'full', 'checkpoints', 'step-2', TRAINER_STATE_FILE), 'utf8')
    ) as { recipeState: unknown }
    expect(saved.recipeState).toEqual(record)

    open.mockClear()
    const resumed: TrainEvent[] = []
    await train(config('resumed', join(temp.dir, 'full', 'checkpoints', 'step-2')), {
      resolveRecipe,
      onEvent: (event) => void resumed.push(event)
    })
    expect(open).not.toHaveBeenCalled()
    open.mockRestore()
    type StepEvent = Extract<TrainEvent, { type: 'step' }>
    const steps = (events: TrainEvent[]) => events.filter((e): e is StepEvent => e.type === 'step')
    const expected = steps(full).slice(2)
    const got = steps(resumed)
    expect(got.map((event) => event.step)).toEqual([3, 4])
    got.forEach((event, i) => {
      expect(Object.is(event.loss, expected[i].loss)).toBe(true)
      expect(Object.is(event.gradNorm, expected[i].gradNorm)).toBe(true)
    })
  }, 120_000)
})
