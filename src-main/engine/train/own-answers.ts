/**
 * The 'before-training' own-answer stage of a recipe (run-hooks.ts, `answer`): the model as the
 * run starts answers every training prompt greedily with the inference Generator, the recipe's
 * judge compares that answer with the gold response, and where it is judged correct the example
 * trains on the model's own answer instead of the gold (S3FT).
 *
 * A prompt is an example's tokens before its first trained token; its gold response is its trained
 * tokens. The Generator, like selection.ts's Scorer, opens its own session in the trainer's process
 * and is released before the step program compiles; it runs the base model folder plus a LoRA
 * run's `--init-adapter`.
 *
 * The choice is the recipe state (`OwnAnswerRecord`): the trainer saves it in every checkpoint and a
 * resumed run rebuilds its data from the saved record without generating again, so resume is
 * bit-identical even where generation on another device would pick another token.
 */
import { Generator, generationEosIds } from '../infer/generation'
import { IGNORE_INDEX } from '../tokenizer/labels'
import type { TextTokenizer } from '../tokenizer/tokenizer'
import type { TrainingData, TrainingExample } from './data'
import type { LossHook, RecipeParams, ResolvedRecipe } from './loss-hook'
import type { OwnAnswerJudge, RecipeState } from './run-hooks'
import type { TrainConfig } from './train-config'

/** A resolved recipe that declares an own-answer stage. */
export interface AnsweringRecipe extends ResolvedRecipe {
  hook: LossHook & { answer: OwnAnswerJudge<RecipeParams> }
}

export function isAnswering(recipe: ResolvedRecipe): recipe is AnsweringRecipe {
  return recipe.hook.answer !== undefined
}

/** The recipe state of an answering recipe: the own answer's token ids by source line. */
export interface OwnAnswerRecord {
  [key: string]: RecipeState
  ownAnswers: { [line: string]: number[] }
}

/** The model's greedy answer to a prompt: its ids (with a stopping end-of-sequence) and its text. */
export type AnswerPrompt = (promptIds: number[]) => Promise<{ tokenIds: number[]; text: string }>

/** Where an example's response starts: its first trained token (what precedes it is the prompt). */
export function firstTrainedIndex(example: TrainingExample): number {
  return example.labels.findIndex((label) => label !== IGNORE_INDEX)
}

/** The record of which examples take the model's own answer, judged against their gold. */
export async function judgeOwnAnswers(
  data: TrainingData,
  recipe: AnsweringRecipe,
  tokenizer: TextTokenizer,
  answer: AnswerPrompt
): Promise<OwnAnswerRecord> {
  const ownAnswers: Record<string, number[]> = {}
  for (const example of data.examples) {
    const start = firstTrainedIndex(example)
    const gold = tokenizer.decode(
      [...example.labels.subarray(start)].filter((label) => label !== IGNORE_INDEX),
      { skipSpecialTokens: true }
    )
    const own = await answer([...example.inputIds.subarray(0, start)])
    if (own.tokenIds.length > 0 && recipe.hook.answer.accept(own.text, gold, recipe.params)) {
      ownAnswers[exampleKey(example)] = own.tokenIds
    }
  }
  return { ownAnswers }
}

/** An example's key in the record: its line, and which of the line's sequences it is when there are several. */
function exampleKey(example: TrainingExample): string {
  return example.part === undefined ? String(example.line) : `${example.line}.${example.part}`
}

/** `data` with the recorded own answers in place of the gold responses, cut to maxSeqLen. */
export function applyOwnAnswers(
  data: TrainingData,
  record: OwnAnswerRecord,
  maxSeqLen: number
): TrainingData {
  let truncatedCount = data.truncatedCount
  const examples = data.examples.map((example): TrainingExample => {
    const own = record.ownAnswers[exampleKey(example)]
    if (!own) return example
    const prompt = [...example.inputIds.subarray(0, firstTrainedIndex(example))]
    const ids = [...prompt, ...own]
    if (ids.length > maxSeqLen && example.inputIds.length <= maxSeqLen) truncatedCount++
    const inputIds = Int32Array.from(ids.slice(0, maxSeqLen))
    const labels = Int32Array.from(inputIds, (id, t) => (t < prompt.length ? IGNORE_INDEX : id))
    const weights = Float32Array.from(labels, (label) => (label === IGNORE_INDEX ? 0 : 1))
    return {
      line: example.line,
      ...(example.part !== undefined ? { part: example.part } : {}),
      inputIds,
      labels,
      weights
    }
  })
  return { ...data, examples, truncatedCount }
}

function isOwnAnswerRecord(state: RecipeState | undefined): state is OwnAnswerRecord {
  return typeof state === 'object' && state !== null && !Array.isArray(state) && 'ownAnswers' in state
}

/**
 * The data an answering recipe trains and the record of its choice: the saved record of a resumed
 * run, or one judged now from the model's greedy answers (its session released after).
 */
export async function withOwnAnswers(
  data: TrainingData,
  recipe: AnsweringRecipe,
  tokenizer: TextTokenizer | null,
  run: Pick<TrainConfig, 'modelDir' | 'adapter' | 'device' | 'cacheDir' | 'maxSeqLen'>,
  saved: RecipeState | undefined
): Promise<{ data: TrainingData; record: OwnAnswerRecord }> {
  if (isOwnAnswerRecord(saved)) return { data: applyOwnAnswers(data, saved, run.maxSeqLen), record: saved }
  if (!tokenizer) {
    throw new Error(
      `recipe ${recipe.hook.name}: judging the model's answers needs its tokenizer, and ${run.modelDir} has no tokenizer.json`
    )
  }
  const adapterDir = run.adapter.kind === 'lora' ? (run.adapter.initAdapterDir ?? undefined) : undefined
  const generator = await Generator.open(
    { modelDir: run.modelDir, adapterDir },
    { device: run.device, cacheDir: run.cacheDir, eosTokenIds: generationEosIds(run.modelDir) }
  )
  try {
    const maxNewTokens = recipe.hook.answer.maxNewTokens(recipe.params)
    const record = await judgeOwnAnswers(data, recipe, tokenizer, async (promptIds) => {
      const room = Math.min(maxNewTokens, Math.max(0, run.maxSeqLen - promptIds.length))
      const result = await generator.generate(promptIds, tokenizer, { maxNewTokens: room, temperature: 0 })
      return { tokenIds: result.tokenIds, text: result.text }
    })
    return { data: applyOwnAnswers(data, record, run.maxSeqLen), record }
  } finally {
    await generator.release()
  }
}
