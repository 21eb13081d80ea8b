/**
 * `train.preflight`: what a training run would see, without training: its data read exactly as the
 * trainer reads it (tokenized, truncated, rows without trained tokens dropped, with why), token
 * counts, the step plan, and the first kept conversation rendered with the chat template with its
 * trained character ranges. Tokenizing a whole dataset blocks a thread, hence a job.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import { readModelConfig } from '../../engine/checkpoint/hf-config'
import { renderTrainingSequences } from '../../engine/tokenizer/assistant-spans'
import { chatTemplateFor } from '../../engine/tokenizer/chat-template'
import { loadTokenizer, type TextTokenizer } from '../../engine/tokenizer/tokenizer'
import {
  parseTrainingRow,
  readTrainingData,
  type DroppedRow,
  type TrainingExample
} from '../../engine/train/data'
import { EpochBatchStream } from '../../engine/train/epoch-data'
import { readRunData } from '../../engine/train/run-data'
import { updatesPerBatch } from '../../engine/train/update-cycle'
import type { TrainConfig } from '../../engine/train/train-config'
import { resolveRecipe } from '../../recipes/index'
import type { JobKind } from '../protocol'

export interface TrainPreflightInput {
  config: TrainConfig
}

export interface TrainPreflightResult {
  rows: number
  examples: number
  truncated: number
  dropped: DroppedRow[]
  /** Rows that train as more than one sequence (raw-text windows, turns a template renders apart). */
  multiSequenceRows: number
  evalExamples: number
  tokens: { total: number; trained: number; meanPerExample: number; maxPerExample: number }
  plan: { totalSteps: number; stepsPerEpoch: number; epochs: number | null; examplesPerStep: number }
  /** Mean tokens (padding excluded) an optimizer step processes. */
  tokensPerStep: number
  preview: {
    line: number
    text: string
    spans: { start: number; end: number }[]
    tokens: number
    trainedTokens: number
  } | null
}

function trainedTokens(example: TrainingExample): number {
  return example.weights.reduce((n, weight) => n + (weight > 0 ? 1 : 0), 0)
}

/** The kept example's row rendered as the trainer renders it; raw text rows are decoded instead. */
function previewOf(
  file: string,
  example: TrainingExample,
  tokenizer: TextTokenizer | null
): TrainPreflightResult['preview'] {
  const base = { line: example.line, tokens: example.inputIds.length, trainedTokens: trainedTokens(example) }
  const source = readFileSync(file, 'utf8').split('\n')[example.line - 1]
  const row = parseTrainingRow(JSON.parse(source))
  if (row.format === 'messages' && tokenizer) {
    const template = chatTemplateFor(tokenizer, { forTools: Boolean(row.tools) })
    // The sequence this example is (a conversation may train as several, see assistant-spans.ts).
    const rendered = renderTrainingSequences(template, row.messages, {
      tools: row.tools,
      endOfTurnMarkers: tokenizer.specialTokens
    })[example.part ?? 0]
    return { ...base, text: rendered.text, spans: rendered.spans.map(({ start, end }) => ({ start, end })) }
  }
  const text = tokenizer ? tokenizer.decode([...example.inputIds]) : [...example.inputIds].join(' ')
  return { ...base, text, spans: [] }
}

export const trainPreflightJob: JobKind<TrainPreflightInput, TrainPreflightResult> = {
  kind: 'train.preflight',
  summary: 'Read a run’s data as the trainer would: token counts, dropped rows, plan and a template preview',
  async run({ config }, ctx) {
    const tokenizer = existsSync(join(config.modelDir, 'tokenizer.json'))
      ? loadTokenizer(config.modelDir)
      : null
    ctx.progress(0, 1, 'tokenizing the training data')
    const model = readModelConfig(config.modelDir)
    const recipe = resolveRecipe(config.recipe.name, config.recipe.params)
    const { epochData, batchOptions, totalSteps } = await readRunData(config, recipe, tokenizer, model)
    const data = epochData.epoch(0)
    const evalExamples = config.evalDataFile
      ? readTrainingData(config.evalDataFile, { tokenizer, maxSeqLen: config.maxSeqLen }).examples.length
      : 0
    const lengths = data.examples.map((e) => e.inputIds.length)
    const total = lengths.reduce((a, b) => a + b, 0)
    const trained = data.examples.reduce((n, e) => n + trainedTokens(e), 0)
    let plan: TrainPreflightResult['plan'] = {
      totalSteps: 0,
      stepsPerEpoch: 0,
      epochs: config.epochs,
      examplesPerStep: 0
    }
    if (data.examples.length > 0) {
      const batchesInEpoch = new EpochBatchStream(epochData, batchOptions).batchesInEpoch(0)
      const batchSteps = Math.ceil(batchesInEpoch / config.gradAccum)
      plan = {
        totalSteps,
        // a recipe may train each step's batch for several steps (grpo's num_iterations)
        stepsPerEpoch: batchSteps * updatesPerBatch(recipe),
        epochs: config.epochs,
        examplesPerStep: data.examples.length / batchSteps
      }
    }
    ctx.progress(1, 1, 'done')
    return {
      rows: data.rowCount,
      examples: data.examples.length,
      truncated: data.truncatedCount,
      dropped: data.dropped,
      multiSequenceRows: new Set(data.examples.filter((e) => (e.part ?? 0) > 0).map((e) => e.line)).size,
      evalExamples,
      tokens: {
        total,
        trained,
        meanPerExample: lengths.length > 0 ? total / lengths.length : 0,
        maxPerExample: lengths.length > 0 ? Math.max(...lengths) : 0
      },
      plan,
      tokensPerStep: lengths.length > 0 ? (total / lengths.length) * plan.examplesPerStep : 0,
      preview: data.examples.length > 0 ? previewOf(config.dataFile, data.examples[0], tokenizer) : null
    }
  }
}
