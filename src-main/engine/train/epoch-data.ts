/**
 * The training examples of each epoch, and the batch stream over them.
 *
 * Without a data transform (run-hooks.ts) every epoch trains the same examples, tokenized once. A
 * recipe with one gets its rows read once, parsed but not tokenized, and each epoch's examples
 * derived from them when the stream reaches that epoch: only one epoch is held in memory, and
 * planning the run's length derives each epoch once more (with packing, or rows the transform
 * drops, the number of batches depends on the epoch's examples).
 *
 * A conversation-level transform sees every textual row as a conversation: Alpaca rows as a user
 * and an assistant turn, prompt/completion message lists as their concatenation with the prompt
 * untrained — which tokenizes exactly as data.ts tokenizes those rows. Plain-text
 * prompt/completion rows and pre-tokenized rows are not conversations and are refused. A
 * preference row's rejected side is shown to the transform as `rejected` but never trained
 * (recipes with a transform train on one response).
 */
import { Rng } from '../rng'
import type { TextTokenizer } from '../tokenizer/tokenizer'
import { BatchStream, type BatchOptions, type DataCursor, type TrainingBatch } from './batches'
import {
  alpacaPrompt,
  addExamples,
  exampleFromRow,
  readTrainingData,
  readTrainingRows,
  type ExampleOptions,
  type ExampleResult,
  type TrainingData,
  type TrainingExample,
  type TrainingRow,
  type TrainingSideRow,
  untrained
} from './data'
import type { ResolvedRecipe } from './loss-hook'
import type { Conversation, DataTransform, TransformContext } from './run-hooks'

/** Separates the transforms' random streams from the other users of the run seed. */
const TRANSFORM_STREAM = 0x7472616e

/** The training data of every epoch. */
export interface EpochData {
  /** Rows the file holds (blank lines not counted). */
  readonly rowCount: number
  /** The examples epoch `epoch` trains, with what was truncated or dropped deriving them. */
  epoch(epoch: number): TrainingData
}

/** Reads the run's training data; see the module comment. */
export function readEpochData(
  file: string,
  options: ExampleOptions,
  recipe: ResolvedRecipe,
  seed: number
): EpochData {
  const transform = recipe.hook.transform
  if (!transform) {
    const data = readTrainingData(file, options)
    return { rowCount: data.rowCount, epoch: () => data }
  }
  return new TransformedData(file, readTrainingRows(file), options, { ...recipe, transform }, seed)
}

class TransformedData implements EpochData {
  readonly rowCount: number
  private derived: { epoch: number; data: TrainingData } | null = null

  constructor(
    private readonly file: string,
    private readonly rows: readonly { row: TrainingRow; line: number }[],
    private readonly options: ExampleOptions,
    private readonly recipe: ResolvedRecipe & { transform: DataTransform<ResolvedRecipe['params']> },
    private readonly seed: number
  ) {
    this.rowCount = rows.length
  }

  epoch(epoch: number): TrainingData {
    if (this.derived?.epoch !== epoch) this.derived = { epoch, data: this.derive(epoch) }
    return this.derived.data
  }

  private derive(epoch: number): TrainingData {
    const data: TrainingData = { examples: [], rowCount: this.rows.length, truncatedCount: 0, dropped: [] }
    this.rows.forEach(({ row, line }, rowIndex) => {
      const ctx = {
        epoch,
        rowIndex,
        rng: Rng.fromSeed(this.seed, TRANSFORM_STREAM, epoch, rowIndex),
        params: this.recipe.params
      }
      let result: ExampleResult
      try {
        result = this.transformed(row, line, ctx)
      } catch (error) {
        throw new Error(
          `train: recipe ${this.recipe.hook.name}, epoch ${epoch}: line ${line} of ${this.file}: ` +
            (error as Error).message
        )
      }
      addExamples(data, result, line)
    })
    return data
  }

  private transformed(
    row: TrainingRow,
    line: number,
    ctx: TransformContext<ResolvedRecipe['params']>
  ): ExampleResult {
    const { transform } = this.recipe
    // An undesirable completion is left out before any transform sees it.
    if (row.label === false) return exampleFromRow(row, line, this.options)
    if (transform.level === 'conversation') {
      const kept = transform.apply(conversationOf(row, this.recipe.hook.name), ctx)
      if (!kept) return { examples: [], truncated: false, dropReason: `left out by the recipe's transform` }
      return exampleFromRow(
        { format: 'messages', messages: kept.messages, tools: kept.tools },
        line,
        this.options
      )
    }
    const tokenized = exampleFromRow(row, line, this.options)
    if (tokenized.examples.length === 0) return tokenized
    const normalised = tokenized.examples.map((example) => {
      const { inputIds, labels, weights } = transform.apply(
        {
          inputIds: Int32Array.from(example.inputIds),
          labels: Int32Array.from(example.labels),
          weights: Float32Array.from(example.weights)
        },
        { ...ctx, maskTokenId: maskTokenIdOf(this.options.tokenizer), tokenizer: this.options.tokenizer }
      )
      // Normalised again as a pre-tokenized row: labels and weights cleared to match, and dropped
      // when nothing is left to train.
      const result = exampleFromRow(
        { format: 'tokens', inputIds: [...inputIds], labels: [...labels], weights: [...weights] },
        line,
        this.options
      )
      const part = example.part !== undefined ? { part: example.part } : {}
      return { ...result, examples: result.examples.map((kept) => ({ ...kept, ...part })) }
    })
    const examples = normalised.flatMap((result) => result.examples)
    return examples.length > 0
      ? { examples, truncated: tokenized.truncated }
      : { ...normalised[0], truncated: tokenized.truncated }
  }
}

function conversationOf(row: TrainingRow, recipe: string): Conversation {
  const conversation = sideConversation(row, recipe)
  return row.rejected
    ? { ...conversation, rejected: sideConversation(row.rejected, recipe).messages }
    : conversation
}

function sideConversation(row: TrainingSideRow, recipe: string): Conversation {
  switch (row.format) {
    case 'messages':
      return { messages: row.messages.map((message) => ({ ...message })), tools: row.tools }
    case 'prompt-completion-chat':
      return {
        messages: [...untrained(row.prompt), ...row.completion.map((message) => ({ ...message }))],
        tools: null
      }
    case 'alpaca':
      return {
        messages: [
          { role: 'user', content: alpacaPrompt(row.instruction, row.input) },
          { role: 'assistant', content: row.output }
        ],
        tools: null
      }
    case 'prompt-completion':
    case 'tokens':
    case 'text':
    case 'rollout':
      throw new Error(
        `recipe ${recipe} rewrites conversations, and a ${NOT_CONVERSATIONS[row.format]} ` +
          'row is not one; give {"messages"}, prompt/completion message lists or Alpaca rows'
      )
  }
}

const NOT_CONVERSATIONS = {
  'prompt-completion': 'plain-text prompt/completion',
  tokens: 'pre-tokenized',
  text: 'raw-text',
  rollout: 'rollout'
} as const

function maskTokenIdOf(tokenizer: TextTokenizer | null): number {
  return tokenizer?.unk?.id ?? tokenizer?.pad?.id ?? 0
}

/**
 * Batches over the epochs' examples: a BatchStream per epoch, so each epoch's order is the one a
 * single stream would draw (it depends on the seed, the epoch and the example count only), and a
 * saved cursor resumes inside its epoch's examples.
 */
export class EpochBatchStream {
  private current: { epoch: number; stream: BatchStream }

  constructor(
    private readonly data: EpochData,
    private readonly options: BatchOptions,
    cursor: DataCursor = { epoch: 0, position: 0 }
  ) {
    this.current = { epoch: cursor.epoch, stream: this.streamAt(cursor) }
  }

  /** Where the next batch starts (save this in checkpoints). */
  get cursor(): DataCursor {
    return this.current.stream.cursor
  }

  /** The next batch; its `examples` index `examplesOf(its epoch)`. */
  next(): TrainingBatch {
    const cursor = this.cursor
    if (cursor.epoch !== this.current.epoch)
      this.current = { epoch: cursor.epoch, stream: this.streamAt(cursor) }
    return this.current.stream.next()
  }

  batchesInEpoch(epoch: number): number {
    return new BatchStream(this.examplesOf(epoch), this.options, { epoch, position: 0 }).batchesInEpoch(epoch)
  }

  examplesOf(epoch: number): readonly TrainingExample[] {
    const { examples } = this.data.epoch(epoch)
    if (examples.length === 0) throw new Error(`train: epoch ${epoch} has no usable training examples`)
    return examples
  }

  private streamAt(cursor: DataCursor): BatchStream {
    return new BatchStream(this.examplesOf(cursor.epoch), this.options, cursor)
  }
}
