import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { supportsFusedDecoder } from '../../../src-main/engine/models/fused'
import { ChoiceScorer, type ChoiceItem } from '../../../src-main/engine/infer/choice-scoring'
import { Generator } from '../../../src-main/engine/infer/generation'
import { argmax, seededRandom } from '../../../src-main/engine/infer/sampling'
import { Scorer } from '../../../src-main/engine/infer/scoring'
import { IGNORE_INDEX } from '../../../src-main/engine/tokenizer/labels'
import { STORIES_260K, tempDir } from '../../helpers/temp'

const GOLDEN = join(import.meta.dirname, '..', '..', 'fixtures', 'golden')
const NO_TEXT = { decode: () => '' }
const TOLERANCE = 1e-4

interface Models {
  choices: ChoiceScorer
  scorer: Scorer
  generator: Generator
}

const cache = tempDir()
afterAll(() => cache.cleanup())

async function openModels(modelDir: string): Promise<Models> {
  const options = { cacheDir: cache.dir, threads: 1 }
  return {
    choices: await ChoiceScorer.open({ modelDir }, options),
    scorer: await Scorer.open({ modelDir }, options),
    generator: await Generator.open({ modelDir }, options)
  }
}

async function releaseModels(models: Models): Promise<void> {
  await Promise.all([models.choices.release(), models.scorer.release(), models.generator.release()])
}

/**
 * Items with 1 to 5 continuations of different lengths, a 1-token context among them, and
 * continuations the model would generate greedily (whole, and with the last token changed).
 */
async function itemsFor(generator: Generator): Promise<ChoiceItem[]> {
  const { vocabSize, bosTokenId } = generator.model.config
  const random = seededRandom(11)
  const ids = (count: number): number[] =>
    Array.from({ length: count }, () => 3 + Math.floor(random() * (vocabSize - 3)))
  const greedy = async (context: number[], count: number): Promise<number[]> =>
    (await generator.generate(context, NO_TEXT, { maxNewTokens: count, temperature: 0, stopAtEos: false }))
      .tokenIds
  const bos = [bosTokenId ?? 1]
  const long = [...bos, ...ids(11)]
  const longGreedy = await greedy(long, 4)
  const offGreedy = [...longGreedy.slice(0, 3), (longGreedy[3] + 1) % vocabSize]
  return [
    { context: bos, continuations: [await greedy(bos, 5), ids(1), ids(3)] },
    { context: long, continuations: [ids(1), ids(2), longGreedy, ids(7), offGreedy] },
    { context: [...bos, ...ids(29)], continuations: [ids(6)] },
    {
      context: [...bos, ...ids(6)],
      continuations: [
        [5, 6, 7],
        [5, 6, 7],
        [5, 6]
      ]
    }
  ]
}

/** The Scorer's score of context + continuation with labels on the continuation only. */
async function separateScore(scorer: Scorer, context: number[], continuation: number[]) {
  const inputIds = [...context, ...continuation]
  const labels = inputIds.map((id, t) => (t < context.length ? IGNORE_INDEX : id))
  const [score] = await scorer.score([{ inputIds, labels }])
  return { logprob: score.logprob, tokenLogprobs: score.tokenLogprobs.slice(context.length) as number[] }
}

/** Whether every continuation token is the argmax of the logits after the tokens before it. */
async function separateGreedy(generator: Generator, context: number[], continuation: number[]) {
  for (let k = 0; k < continuation.length; k++) {
    const prefix = [...context, ...continuation.slice(0, k)]
    const { logits } = await generator.step(prefix, generator.emptyCache())
    if (argmax(logits) !== continuation[k]) return false
  }
  return true
}

async function expectSeparateScoring(models: Models, items: ChoiceItem[], batchTokens?: number) {
  const results = await models.choices.scoreChoices(items, { batchTokens })
  expect(results.map((scores) => scores.length)).toEqual(items.map((item) => item.continuations.length))
  let greedyCount = 0
  for (const [i, item] of items.entries()) {
    for (const [j, continuation] of item.continuations.entries()) {
      const got = results[i][j]
      const where = `item ${i} continuation ${j}`
      const want = await separateScore(models.scorer, [...item.context], [...continuation])
      expect(got.tokens, where).toBe(continuation.length)
      expect(got.tokenLogprobs, where).toHaveLength(continuation.length)
      got.tokenLogprobs.forEach((value, t) =>
        expect(Math.abs(value - want.tokenLogprobs[t]), `${where} token ${t}`).toBeLessThan(TOLERANCE)
      )
      expect(Math.abs(got.logprob - want.logprob), where).toBeLessThan(TOLERANCE)
      const greedy = await separateGreedy(models.generator, [...item.context], [...continuation])
      expect(got.greedy, where).toBe(greedy)
      if (greedy) greedyCount++
    }
  }
  return { results, greedyCount }
}

// Head dims 8 (the Scorer and Generator run standard ops) and 16 (they run fused contrib ops).
const MODELS = [
  { name: 'stories260K', dir: STORIES_260K, fusedReference: false },
  { name: 'qwen2-tied', dir: join(GOLDEN, 'qwen2-tied'), fusedReference: false },
  { name: 'llama-untied', dir: join(GOLDEN, 'llama-untied'), fusedReference: true },
  { name: 'qwen3-qknorm', dir: join(GOLDEN, 'qwen3-qknorm'), fusedReference: true }
]

describe.each(MODELS)('ChoiceScorer on $name', ({ dir, fusedReference }) => {
  let models: Models
  let items: ChoiceItem[]

  it('scores each continuation as the Scorer scores context + continuation, greedy as argmax says', async () => {
    models = await openModels(dir)
    expect(supportsFusedDecoder(models.choices.model.config)).toBe(fusedReference)
    items = await itemsFor(models.generator)
    const { results, greedyCount } = await expectSeparateScoring(models, items)
    // the greedy continuations are recognised, the one with a changed last token is not
    expect(results[0][0].greedy).toBe(true)
    expect(results[1][2].greedy).toBe(true)
    expect(results[1][4].greedy).toBe(false)
    expect(greedyCount).toBeGreaterThanOrEqual(2)
  })

  it('gives the same scores one item per run as in one padded batch', async () => {
    const alone = await expectSeparateScoring(models, items, 1)
    const together = await models.choices.scoreChoices(items)
    alone.results.forEach((scores, i) =>
      scores.forEach((score, j) =>
        expect(Math.abs(score.logprob - together[i][j].logprob), `item ${i} continuation ${j}`).toBeLessThan(
          TOLERANCE
        )
      )
    )
    await releaseModels(models)
  })
})

describe('ChoiceScorer', () => {
  let models: Models

  it('reports progress per batch of items and stops when cancelled', async () => {
    models = await openModels(STORIES_260K)
    const items = [3, 9, 5].map((length) => ({
      context: Array.from({ length }, (_, t) => 1 + t),
      continuations: [[4, 5], [6]]
    }))
    const progress: number[] = []
    await models.choices.scoreChoices(items, { batchTokens: 1, onProgress: (done) => progress.push(done) })
    expect(progress).toEqual([1, 2, 3])
    const controller = new AbortController()
    controller.abort()
    await expect(models.choices.scoreChoices(items, { signal: controller.signal })).rejects.toThrow(
      'ChoiceScorer.scoreChoices: cancelled'
    )
    expect(await models.choices.scoreChoices([])).toEqual([])
  })

  it('refuses bad items, naming the item and continuation, before scoring any', async () => {
    const { vocabSize, maxPositionEmbeddings } = models.choices.model.config
    const good = { context: [1, 2], continuations: [[3]] }
    const cases: [ChoiceItem, string][] = [
      [{ context: [], continuations: [[3]] }, 'item 1 has no context tokens (start from BOS)'],
      [{ context: [1], continuations: [] }, 'item 1 has no continuations'],
      [{ context: [1], continuations: [[3], []] }, 'item 1 continuation 1 has no tokens'],
      [
        { context: [1, vocabSize], continuations: [[3]] },
        `item 1 context: id ${vocabSize} at position 1 is not a token id (vocab ${vocabSize})`
      ],
      [
        { context: [1], continuations: [[3], [4, 5, -1]] },
        `item 1 continuation 1: id -1 at position 2 is not a token id (vocab ${vocabSize})`
      ],
      [
        { context: new Array(maxPositionEmbeddings - 1).fill(1), continuations: [[3], [4, 5]] },
        `item 1 continuation 1: ${maxPositionEmbeddings - 1} context + 2 continuation tokens exceed the model's ${maxPositionEmbeddings} positions`
      ]
    ]
    for (const [bad, message] of cases) {
      const progress: number[] = []
      await expect(
        models.choices.scoreChoices([good, bad], { onProgress: (done) => progress.push(done) })
      ).rejects.toThrow(`ChoiceScorer.scoreChoices: ${message}`)
      expect(progress).toEqual([])
    }
    await releaseModels(models)
  })
})
