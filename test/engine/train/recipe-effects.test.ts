/**
 * Each data-transform, SFT-family and selection recipe's intended effect on a real model: short LoRA
 * runs on stories260K over one small conversation set, compared with plain SFT on the same rows,
 * measured by scoring the training rows' token spans with the base model and with each adapter, or
 * read from the runs' step metrics, per-sample outputs and saved recipe state. The figures printed here
 * are the ones of the README's "Recipes and their measured effect" table; the assertions check
 * directions only. (dpo's effect is shown by dpo-stories.test.ts.)
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Generator } from '../../../src-main/engine/infer/generation'
import { Scorer, type ScoreRow } from '../../../src-main/engine/infer/scoring'
import { IGNORE_INDEX } from '../../../src-main/engine/tokenizer/labels'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { readEpochData } from '../../../src-main/engine/train/epoch-data'
import type { TrainingExample } from '../../../src-main/engine/train/data'
import { train, type TrainEvent } from '../../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { PROMPT_TEMPLATES } from '../../../src-main/recipes/prompt-diversity'
import { CONFIRM_LEAD, REVISE_LEAD } from '../../../src-main/recipes/self-correction-format'
import { DEFAULT_REVIEW_PROMPT } from '../../../src-preload/contract/evaluations'
import { savedRecipeState, stepEvents, type StepEvent } from '../../helpers/recipe-run'
import { STORIES_260K, tempDir } from '../../helpers/temp'
import { storiesConfig, writeJsonl } from './invented-stories'

const PROMPTS = [
  'Once upon a time, there was a little',
  'One day, there was a little',
  'There was a little',
  'Long ago, there lived a little'
]
/** Two reasoning steps split by a blank line: first-step trains the first only. */
const stepRow = (prompt: string) => ({
  messages: [
    { role: 'user', content: prompt },
    { role: 'assistant', content: 'dragon named Zob.\n\nZob liked to fly over the big hill.' }
  ]
})
/**
 * An assistant turn that calls a tool: span-weights weighs it more. Its content spells the call out,
 * so that stories260K's plain template, which renders content only, loses nothing of it.
 */
const toolRow = (prompt: string) => ({
  messages: [
    { role: 'user', content: prompt },
    {
      role: 'assistant',
      content: 'fly(who=Zob)',
      tool_calls: [{ type: 'function', function: { name: 'fly', arguments: { who: 'Zob' } } }]
    }
  ]
})
/** A trajectory that keeps branching: branch-filter leaves it out. */
const branchingRow = (prompt: string) => ({
  messages: [
    { role: 'user', content: prompt },
    { role: 'assistant', content: 'Wait, a cat. Hmm, a dog. Alternatively, Zob. Wait, Zob.' }
  ]
})
const ROWS = [...PROMPTS.map(stepRow), ...PROMPTS.map(toolRow), ...PROMPTS.map(branchingRow)]
const STEP_LINES = [1, 2, 3, 4]
const TOOL_LINES = [5, 6, 7, 8]
const BRANCHING_LINES = [9, 10, 11, 12]
const SEED = 42
/**
 * With the released α = 1 every improving row weighs 1 − σ(β·gain) < 0.5 and is clipped to 0.5, so
 * on rows that all improve the weights only differ with a larger α and a gentler β.
 */
const GLOW_PARAMS = { alpha: '4', beta: '2' }

const temp = tempDir('fs-recipe-effects-')
const tokenizer = loadTokenizer(STORIES_260K)
let dataFile: string
afterAll(() => temp.cleanup())

interface Run {
  adapterDir: string
  start: Extract<TrainEvent, { type: 'start' }>
  losses: number[]
  steps: StepEvent[]
}
const runs = new Map<string, Run>()

async function trainRecipe(
  recipe: string,
  params: Record<string, string> = {},
  { file = dataFile, steps = 6, out = recipe } = {}
): Promise<Run> {
  const events: TrainEvent[] = []
  const config = storiesConfig(temp.dir, file, out, {
    recipe: { name: recipe, params },
    adapter: { kind: 'lora', r: 8, alpha: 16, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
    lr: 5e-3,
    lrScheduler: 'constant',
    maxSteps: steps,
    seed: SEED
  })
  await train(config, { resolveRecipe, onEvent: (event) => void events.push(event) })
  return {
    adapterDir: config.outDir,
    start: events.find((e) => e.type === 'start') as Run['start'],
    losses: stepEvents(events).map((e) => e.loss),
    steps: stepEvents(events)
  }
}

/** The rows' examples as `recipe` derives them in epoch 0, by line. */
function examplesOf(recipe: string, file = dataFile): Map<number, TrainingExample> {
  const data = readEpochData(file, { tokenizer, maxSeqLen: 256 }, resolveRecipe(recipe), SEED).epoch(0)
  return new Map(data.examples.map((example) => [example.line, example]))
}

/** log p of each row's scored labels, under the base model or an adapter. */
async function logprobs(rows: readonly ScoreRow[], adapterDir?: string): Promise<number[]> {
  const scorer = await Scorer.open(
    { modelDir: STORIES_260K, adapterDir },
    { cacheDir: join(temp.dir, 'cache'), threads: 1 }
  )
  try {
    return (await scorer.score(rows)).map((score) => score.logprob)
  } finally {
    await scorer.release()
  }
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0)

/** How much an adapter raised log p of `rows` over the base model, in nats per row. */
async function gain(rows: readonly ScoreRow[], run: Run): Promise<number> {
  return (sum(await logprobs(rows, run.adapterDir)) - sum(await logprobs(rows))) / rows.length
}

const scored = (example: TrainingExample, keep: (t: number) => boolean): ScoreRow => ({
  inputIds: [...example.inputIds],
  labels: [...example.labels].map((label, t) => (keep(t) ? label : IGNORE_INDEX))
})

beforeAll(async () => {
  dataFile = writeJsonl(join(temp.dir, 'train.jsonl'), ROWS)
  for (const [recipe, params] of [
    ['sft', {}],
    ['first-step', {}],
    ['masked-thought', {}],
    ['span-weights', { tool_call_weight: '5' }],
    ['branch-filter', {}],
    ['otr', {}],
    ['poft', {}],
    ['glow', GLOW_PARAMS],
    ['uds', {}]
  ] as const)
    runs.set(recipe, await trainRecipe(recipe, params))
}, 120_000)

describe('recipe effects on stories260K (6 LoRA steps each, against sft on the same rows)', () => {
  test('first-step: the later steps of a response are not learned, the first step is', async () => {
    const whole = examplesOf('sft')
    const firstOnly = examplesOf('first-step')
    const firstStepRows = STEP_LINES.map((line) => {
      const trained = firstOnly.get(line)!.labels
      return scored(whole.get(line)!, (t) => t < trained.length && trained[t] !== IGNORE_INDEX)
    })
    const laterStepRows = STEP_LINES.map((line) => {
      const trained = firstOnly.get(line)!.labels
      return scored(whole.get(line)!, (t) => t >= trained.length || trained[t] === IGNORE_INDEX)
    })
    const later = {
      sft: await gain(laterStepRows, runs.get('sft')!),
      firstStep: await gain(laterStepRows, runs.get('first-step')!)
    }
    const first = await gain(firstStepRows, runs.get('first-step')!)
    const firstBySft = await gain(firstStepRows, runs.get('sft')!)
    console.info(
      `first-step: log p gain per response on its later steps ${later.firstStep.toFixed(2)} (sft ` +
        `${later.sft.toFixed(2)}), on its first step ${first.toFixed(2)} (sft ${firstBySft.toFixed(2)})`
    )
    expect(first).toBeGreaterThan(0)
    expect(later.sft).toBeGreaterThan(0)
    expect(later.firstStep).toBeLessThan(later.sft / 2)
  })

  test('masked-thought: inputs are masked but the loss is on the original tokens, which it learns', async () => {
    const masked = runs.get('masked-thought')!
    const sft = runs.get('sft')!
    const responses = [...examplesOf('sft').values()].map((example) => scored(example, () => true))
    const learned = await gain(responses, masked)
    console.info(
      `masked-thought: loss at step 1 ${masked.losses[0].toFixed(3)} (sft ${sft.losses[0].toFixed(3)}); ` +
        `log p gain per unmasked response ${learned.toFixed(2)}`
    )
    // Same rows, same order: predicting the originals from partly masked inputs is harder.
    expect(masked.losses[0]).toBeGreaterThan(sft.losses[0])
    expect(learned).toBeGreaterThan(0)
  })

  test('span-weights: the tool-call turns are learned faster than with sft', async () => {
    const whole = examplesOf('sft')
    const toolTurns = TOOL_LINES.map((line) => scored(whole.get(line)!, () => true))
    const weighted = await gain(toolTurns, runs.get('span-weights')!)
    const plain = await gain(toolTurns, runs.get('sft')!)
    console.info(
      `span-weights: log p gain per tool-call turn ${weighted.toFixed(2)} (sft ${plain.toFixed(2)})`
    )
    expect(weighted).toBeGreaterThan(plain)
  })

  test('branch-filter: the branching trajectories are left out, the others train', () => {
    const { start } = runs.get('branch-filter')!
    console.info(
      `branch-filter: ${start.examples} of ${start.rows} rows train; sft ${runs.get('sft')!.start.examples}`
    )
    expect(start.dropped.map((row) => row.line)).toEqual(BRANCHING_LINES)
    expect(start.examples).toBe(ROWS.length - BRANCHING_LINES.length)
    expect(runs.get('sft')!.start.examples).toBe(ROWS.length)
  })

  test('prompt-diversity: every epoch reads the prompts in other wordings', () => {
    const data = readEpochData(
      dataFile,
      { tokenizer, maxSeqLen: 256 },
      resolveRecipe('prompt-diversity'),
      SEED
    )
    const wordings = (epoch: number) =>
      data
        .epoch(epoch)
        .examples.map((example) => tokenizer.decode([...example.inputIds], { skipSpecialTokens: true }))
    const epochs = [0, 1, 2, 3].map(wordings)
    const perRow = ROWS.map((_, row) => new Set(epochs.map((epoch) => epoch[row])).size)
    const mean = sum(perRow) / perRow.length
    console.info(
      `prompt-diversity: ${mean.toFixed(2)} distinct prompt wordings per row over 4 epochs (sft 1)`
    )
    expect(mean).toBeGreaterThan(2)
    expect(Math.max(...perRow)).toBeLessThanOrEqual(PROMPT_TEMPLATES.length)
  })
})

/** Mean of `value` over the steps of each epoch (a 6-step run reads the 12 rows twice). */
function perEpoch(run: Run, value: (step: StepEvent) => number): number[] {
  return [0, 1].map((epoch) => {
    const steps = run.steps.filter((step) => step.epoch === epoch)
    return sum(steps.map(value)) / steps.length
  })
}

describe('sft-family and selection recipes on stories260K (6 LoRA steps each)', () => {
  const responses = () => [...examplesOf('sft').values()].map((example) => scored(example, () => true))

  test('otr: the gold tokens are learned while the share of sampled tokens that hit them rises', async () => {
    const run = runs.get('otr')!
    const hitRate = perEpoch(run, (step) => step.metrics.hit_rate)
    const learned = await gain(responses(), run)
    console.info(
      `otr: hit rate epoch 0 ${hitRate[0].toFixed(3)} → epoch 1 ${hitRate[1].toFixed(3)}; ` +
        `log p gain per response ${learned.toFixed(2)} (sft ${(await gain(responses(), runs.get('sft')!)).toFixed(2)})`
    )
    expect(learned).toBeGreaterThan(0)
    expect(hitRate[1]).toBeGreaterThan(hitRate[0])
  })

  test('poft: the trained model pulls ahead of the reference on the responses', async () => {
    const run = runs.get('poft')!
    const margin = perEpoch(run, (step) => step.metrics['scores/target'] - step.metrics['scores/reference'])
    const learned = await gain(responses(), run)
    console.info(
      `poft: mean log p per token, target − reference, epoch 0 ${margin[0].toFixed(3)} → epoch 1 ` +
        `${margin[1].toFixed(3)}; log p gain per response ${learned.toFixed(2)}`
    )
    expect(margin[1]).toBeGreaterThan(margin[0])
    expect(learned).toBeGreaterThan(0)
  })

  test('glow: in epoch 1 the rows whose loss fell least weigh more than those whose loss fell most', () => {
    const lossOf = new Map<number, number>()
    const rows: { gain: number; weight: number }[] = []
    for (const step of runs.get('glow')!.steps) {
      const { rows: examples, values } = step.perSample!
      examples.forEach(([example], i) => {
        if (step.epoch === 1)
          rows.push({ gain: lossOf.get(example)! - values.loss[i], weight: values.weight[i] })
        else lossOf.set(example, values.loss[i])
      })
    }
    rows.sort((a, b) => a.gain - b.gain)
    const third = Math.floor(rows.length / 3)
    const meanWeight = (part: typeof rows) => sum(part.map((row) => row.weight)) / part.length
    const slowest = meanWeight(rows.slice(0, third))
    const fastest = meanWeight(rows.slice(-third))
    console.info(
      `glow (alpha ${GLOW_PARAMS.alpha}, beta ${GLOW_PARAMS.beta}): epoch-1 weight of the third of rows ` +
        `whose loss fell least ${slowest.toFixed(3)}, most ${fastest.toFixed(3)} (gains ` +
        `${rows[0].gain.toFixed(2)}…${rows[rows.length - 1].gain.toFixed(2)} nats/token)`
    )
    expect(rows).toHaveLength(ROWS.length)
    expect(slowest).toBeGreaterThan(fastest)
  })

  test('uds: of each candidate batch it trains the row whose logits score highest, longer rows first', () => {
    const run = runs.get('uds')!
    const sft = runs.get('sft')!
    const keptTokens = sum(run.steps.map((step) => step.trainedTokens)) / run.steps.length
    const candidateTokens = sum(sft.steps.map((step) => step.trainedTokens)) / sft.steps.length / 4
    const memory = (savedRecipeState(temp.dir, 'uds', run.steps.length) as { memory: number[][] }).memory
    console.info(
      `uds: trained tokens per kept row ${keptTokens.toFixed(1)} vs per candidate row ` +
        `${candidateTokens.toFixed(1)} (1 of 4 kept); memory ${memory.length} after ${run.steps.length} steps`
    )
    expect(keptTokens).toBeGreaterThan(candidateTokens)
    expect(memory).toHaveLength(run.steps.length)
  })
})

describe('s3ft on stories260K (1 LoRA step)', () => {
  test('where the gold is the greedy answer in capitals, it trains on its own, likelier, words', async () => {
    const MAX_NEW_TOKENS = 12
    const probeFile = writeJsonl(
      join(temp.dir, 's3ft-probe.jsonl'),
      PROMPTS.map((prompt) => ({ prompt, completion: ' x' }))
    )
    const generator = await Generator.open({ modelDir: STORIES_260K }, { cacheDir: join(temp.dir, 'cache') })
    const answers: string[] = []
    try {
      for (const example of examplesOf('sft', probeFile).values()) {
        const promptIds = [
          ...example.inputIds.subarray(
            0,
            example.labels.findIndex((l) => l !== IGNORE_INDEX)
          )
        ]
        const result = await generator.generate(promptIds, tokenizer, {
          maxNewTokens: MAX_NEW_TOKENS,
          temperature: 0
        })
        answers.push(result.text)
      }
    } finally {
      await generator.release()
    }
    const file = writeJsonl(
      join(temp.dir, 's3ft.jsonl'),
      PROMPTS.map((prompt, i) => ({ prompt, completion: answers[i].toUpperCase() }))
    )
    const own = await trainRecipe('s3ft', { max_new_tokens: String(MAX_NEW_TOKENS) }, { file, steps: 1 })
    const gold = await trainRecipe('sft', {}, { file, steps: 1, out: 's3ft-sft' })
    const record = savedRecipeState(temp.dir, 's3ft', 1) as { ownAnswers: Record<string, number[]> }
    console.info(
      `s3ft: ${Object.keys(record.ownAnswers).length} of ${PROMPTS.length} rows train on the model's own ` +
        `answer; loss at step 1 ${own.losses[0].toFixed(3)} (sft on the capitalised gold ${gold.losses[0].toFixed(3)})`
    )
    expect(Object.keys(record.ownAnswers)).toHaveLength(PROMPTS.length)
    expect(own.losses[0]).toBeLessThan(gold.losses[0])
  })
})

describe('self-correction-format on stories260K (12 LoRA steps)', () => {
  const RIGHT = 'dragon named Zob.'
  const WRONG = 'girl named Lily.'
  const reviewRows = (prompts: readonly string[], rejected: boolean) =>
    prompts.map((prompt) => ({
      messages: [
        { role: 'user', content: prompt },
        { role: 'assistant', content: RIGHT }
      ],
      ...(rejected ? { rejected: [{ role: 'assistant', content: WRONG }] } : {})
    }))
  /** The review conversation after `first`, ending in `lead`: only the lead is scored. */
  const probe = (prompt: string, first: string, lead: string) => ({
    messages: [
      { role: 'user', content: prompt },
      { role: 'assistant', content: first, loss_weight: 0 },
      { role: 'user', content: DEFAULT_REVIEW_PROMPT },
      { role: 'assistant', content: lead }
    ]
  })
  const HELD_OUT = ['One morning, there was a little', 'Near the big tree lived a little']

  test('after training, a wrong first answer is revised and a right one confirmed', async () => {
    const file = writeJsonl(join(temp.dir, 'review.jsonl'), [
      ...reviewRows(PROMPTS, true),
      ...reviewRows(PROMPTS, false)
    ])
    const run = await trainRecipe('self-correction-format', {}, { file, steps: 12 })
    const probeFile = writeJsonl(
      join(temp.dir, 'probes.jsonl'),
      HELD_OUT.flatMap((prompt) =>
        [WRONG, RIGHT].flatMap((first) =>
          [REVISE_LEAD, CONFIRM_LEAD].map((lead) => probe(prompt, first, lead))
        )
      )
    )
    const probes = [...examplesOf('sft', probeFile).values()].map((example) => scored(example, () => true))
    /** log p(revise) − log p(confirm) after a wrong and after a right first answer, per prompt. */
    const margins = async (adapterDir?: string) => {
      const lp = await logprobs(probes, adapterDir)
      const mean = (offset: number) =>
        sum(HELD_OUT.map((_, p) => lp[4 * p + offset] - lp[4 * p + offset + 1])) / HELD_OUT.length
      return { afterWrong: mean(0), afterRight: mean(2) }
    }
    const before = await margins()
    const after = await margins(run.adapterDir)
    console.info(
      `self-correction-format: held-out log p(revise) − log p(confirm) after a wrong answer ` +
        `${before.afterWrong.toFixed(2)} → ${after.afterWrong.toFixed(2)}, after a right one ` +
        `${before.afterRight.toFixed(2)} → ${after.afterRight.toFixed(2)}`
    )
    expect(after.afterWrong).toBeGreaterThan(after.afterRight)
    expect(after.afterWrong - before.afterWrong).toBeGreaterThan(after.afterRight - before.afterRight)
  })
})
