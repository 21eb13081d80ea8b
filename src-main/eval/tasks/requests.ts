/**
 * The requests a task makes of a model, one per evaluated document in data order, built the way
 * lm-eval builds them (ConfigurableTask.fewshot_context, build_qa_turn, construct_requests):
 *
 *   context = [system instruction + fewshot_delimiter +] description
 *           + for each few-shot example: text + target_delimiter + answer + fewshot_delimiter
 *           + the document's text
 *
 * (the system instruction and description are joined by the delimiter only when neither has
 * whitespace at the join, and the result is followed by no delimiter at all: lm-eval's own tests
 * pin `"Be helpful.\n\nAnswer math questions.\n2+2?"`). A multiple-choice continuation is
 * target_delimiter + choice; a loglikelihood continuation is the target as is.
 *
 * With a chat template the same parts become turns: system (instruction + description), then
 * each example as a user and an assistant turn (or, without fewshotAsMultiturn, everything in one
 * user turn, joined as in plain text), and the continuations lose the target delimiter.
 *
 * Few-shot examples are drawn as lm-eval draws them, from the same seeded Python random stream
 * advanced document by document: `first_n` takes the pool's first n, `default` samples n. When the
 * few-shot split is the test split, the document itself is left out (`default` samples n + 1 and
 * drops it).
 */
import { isDeepStrictEqual } from 'node:util'
import { basename } from 'node:path'
import { TaskFileError, type RowPlace } from './errors'
import { describe } from './key-reader'
import { docChoices, docDescription, docTarget, docText, type DocPlace } from './fields'
import { PythonRandom } from './python-random'
import { endsWithSpace, startsWithSpace } from './python-text'
import type { BuildOptions, ChatTurn, Doc, EvalDocRequest, EvalRequest, LoadedTask, Target } from './types'

/** lm-eval's default few-shot seed (--fewshot_random_seed). */
export const DEFAULT_FEWSHOT_SEED = 1234

/** A turn with the text that follows it when turns are joined into plain text. */
interface Turn extends ChatTurn {
  delimiter: string
}

function evalPlace(task: LoadedTask, index: number): DocPlace {
  const dataFile = task.config.dataFiles[task.evalSplit]
  return { file: task.file, place: { row: index, split: task.evalSplit, dataFile: basename(dataFile) } }
}

function poolPlace(task: LoadedTask, index: number): DocPlace {
  const split = task.fewshotSplit
  const place: RowPlace =
    split === null
      ? { row: index, split: 'fewshot_config.samples' }
      : { row: index, split, dataFile: basename(task.config.dataFiles[split]) }
  return { file: task.file, place }
}

/** lm-eval's maybe_delimit: joins with the delimiter unless either side has whitespace at the join. */
function maybeDelimit(prefix: string, suffix: string, delimiter: string): string {
  if (prefix === '') return suffix
  if (suffix === '') return prefix
  return endsWithSpace(prefix) || startsWithSpace(suffix) ? prefix + suffix : prefix + delimiter + suffix
}

/** The text of a few-shot example's answer (lm-eval's build_qa_turn); null when it has none. */
function fewshotAnswer(task: LoadedTask, doc: Doc, where: DocPlace): string | null {
  const fields = task.fewshotPrompts
  const target = docTarget(fields, doc, where)
  if (target === null || target === undefined || target === '') return null
  const choices = fields.docToChoice === null ? null : docChoices(fields, doc, where)
  const answer =
    choices !== null && typeof target === 'number'
      ? choices[target]
      : Array.isArray(target)
        ? target[0]
        : target
  if (typeof answer !== 'string') {
    throw new TaskFileError(
      where.file,
      fields.docToTarget.key,
      `a few-shot answer must be text (or a choice index), got ${describe(answer)}`,
      where.place
    )
  }
  return answer
}

/** A few-shot example's turns; a pool's examples recur across documents, so each is rendered once. */
class FewshotExamples {
  private readonly rendered = new Map<number, Turn[]>()

  constructor(private readonly task: LoadedTask) {}

  turns(poolIndices: readonly number[]): Turn[] {
    return poolIndices.flatMap((index) => {
      let turns = this.rendered.get(index)
      if (!turns) {
        turns = this.render(index)
        this.rendered.set(index, turns)
      }
      return turns
    })
  }

  private render(index: number): Turn[] {
    const { task } = this
    const fields = task.fewshotPrompts
    const where = poolPlace(task, index)
    const doc = task.fewshotPool[index]
    const question = docText(fields, doc, where)
    const answer = fewshotAnswer(task, doc, where)
    const turns: Turn[] = [
      { role: 'user', content: question, delimiter: answer === null ? '' : fields.targetDelimiter }
    ]
    if (answer !== null)
      turns.push({ role: 'assistant', content: answer, delimiter: fields.fewshotDelimiter })
    return turns
  }
}

/** lm-eval's multiturn_to_singleturn: the system turn, then everything else as one user turn. */
function singleUserTurn(turns: readonly Turn[]): ChatTurn[] {
  const system = turns[0]?.role === 'system' ? [turns[0]] : []
  const rest = turns.slice(system.length)
  const content = rest.map((turn, i) => turn.content + (i === rest.length - 1 ? '' : turn.delimiter)).join('')
  return [...system.map(({ role, content }) => ({ role, content })), { role: 'user', content }]
}

function context(
  task: LoadedTask,
  doc: Doc,
  where: DocPlace,
  examples: readonly Turn[],
  options: BuildOptions
): { prompt: string; turns?: ChatTurn[] } {
  const description = docDescription(task.prompts, doc, where)
  const system = maybeDelimit(options.systemInstruction ?? '', description, task.config.fewshotDelimiter)
  const turns: Turn[] = [
    ...(system === '' ? [] : [{ role: 'system' as const, content: system, delimiter: '' }]),
    ...examples,
    { role: 'user', content: docText(task.prompts, doc, where), delimiter: '' }
  ]
  if (!options.renderChat) return { prompt: turns.map((turn) => turn.content + turn.delimiter).join('') }
  const chat =
    (options.fewshotAsMultiturn ?? true)
      ? turns.map(({ role, content }) => ({ role, content }))
      : singleUserTurn(turns)
  return { prompt: options.renderChat(chat), turns: chat }
}

class FewshotSampler {
  private readonly rng: PythonRandom
  private readonly positions: number[]
  /** Canonical JSON → pool positions, to find the evaluated document in the pool by value. */
  private readonly byContent = new Map<string, number[]>()

  constructor(
    private readonly task: LoadedTask,
    seed: number,
    /** lm-eval leaves the evaluated document out only when the few-shot split is the test split. */
    private readonly excludeEvalDoc: boolean
  ) {
    this.rng = new PythonRandom(seed)
    this.positions = task.fewshotPool.map((_, i) => i)
    if (excludeEvalDoc) {
      task.fewshotPool.forEach((doc, i) => {
        const key = JSON.stringify(doc)
        this.byContent.set(key, [...(this.byContent.get(key) ?? []), i])
      })
    }
  }

  sample(n: number, doc: Doc): number[] {
    if (n === 0) return []
    const copies = new Set(
      this.excludeEvalDoc
        ? (this.byContent.get(JSON.stringify(doc)) ?? []).filter((i) =>
            isDeepStrictEqual(this.task.fewshotPool[i], doc)
          )
        : []
    )
    const available = this.positions.length - copies.size
    if (this.task.config.fewshot.sampler === 'first_n') {
      if (n > available) this.tooFew(n, available)
      const first: number[] = []
      for (let i = 0; first.length < n; i++) if (!copies.has(i)) first.push(i)
      return first
    }
    const draw = this.excludeEvalDoc ? n + 1 : n
    if (draw > this.positions.length) this.tooFew(n, available)
    const drawn = this.rng
      .sample(this.positions, draw)
      .filter((i) => !copies.has(i))
      .slice(0, n)
    if (drawn.length !== n) this.tooFew(n, available)
    return drawn
  }

  private tooFew(n: number, available: number): never {
    throw new TaskFileError(
      this.task.file,
      'num_fewshot',
      `${n} few-shot examples asked for, but the pool has ${available} to draw from`
    )
  }
}

function choiceIndex(task: LoadedTask, value: unknown, choices: readonly string[], where: DocPlace): number {
  const index = typeof value === 'string' ? choices.indexOf(value) : value
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= choices.length) {
    throw new TaskFileError(
      where.file,
      task.prompts.docToTarget.key,
      `gives ${describe(value)}, which is not one of the ${choices.length} choices (${choices.map((c) => JSON.stringify(c)).join(', ')}) nor an index into them`,
      where.place
    )
  }
  return index
}

function textTarget(task: LoadedTask, value: unknown, where: DocPlace): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number') return String(value)
  throw new TaskFileError(
    where.file,
    task.prompts.docToTarget.key,
    `must give text, got ${describe(value)}`,
    where.place
  )
}

function multipleChoice(task: LoadedTask, doc: Doc, where: DocPlace, prompt: string, chat: boolean) {
  const choices = docChoices(task.prompts, doc, where)
  const gold = docTarget(task.prompts, doc, where)
  const target: Target = Array.isArray(gold)
    ? gold.map((g) => choiceIndex(task, g, choices, where))
    : choiceIndex(task, gold, choices, where)
  // lm-eval drops the target delimiter after a chat template's generation prompt.
  const delimiter = chat ? '' : task.config.targetDelimiter
  const request: EvalRequest = {
    type: 'multiple_choice',
    context: prompt,
    continuations: choices.map((choice) => delimiter + choice)
  }
  return { target, choices, request }
}

function generation(task: LoadedTask, doc: Doc, where: DocPlace, prompt: string) {
  const settings = task.config.generation
  if (settings === null) throw new Error('generation: a generate_until task has generation settings')
  const gold = docTarget(task.prompts, doc, where)
  let target: Target
  if (task.prompts.docToChoice !== null) {
    const choices = docChoices(task.prompts, doc, where)
    target = choices[choiceIndex(task, gold, choices, where)]
  } else {
    target = Array.isArray(gold) ? gold.map((g) => textTarget(task, g, where)) : textTarget(task, gold, where)
  }
  const request: EvalRequest = { type: 'generate_until', context: prompt, ...settings }
  return { target, request }
}

function loglikelihood(task: LoadedTask, doc: Doc, where: DocPlace, prompt: string) {
  const continuation = docTarget(task.prompts, doc, where)
  if (typeof continuation !== 'string') {
    throw new TaskFileError(
      where.file,
      task.prompts.docToTarget.key,
      `must give the continuation's text, got ${describe(continuation)}`,
      where.place
    )
  }
  const request: EvalRequest = { type: 'loglikelihood', context: prompt, continuation }
  return { target: continuation, request }
}

/** The requests of a task's documents in data order (the first `limit` of them). */
export function buildRequests(task: LoadedTask, options: BuildOptions = {}): EvalDocRequest[] {
  const { config } = task
  const numFewshot = options.numFewshot ?? config.numFewshot
  if (!Number.isSafeInteger(numFewshot) || numFewshot < 0)
    throw new Error(`buildRequests: numFewshot must be a whole number ≥ 0, got ${numFewshot}`)
  if (numFewshot > 0 && task.fewshotPool.length === 0) {
    throw new TaskFileError(
      task.file,
      'num_fewshot',
      `${numFewshot} few-shot examples asked for, but the task has no few-shot split or samples`
    )
  }
  const count = Math.min(task.docs.length, options.limit ?? task.docs.length)
  const excludeEvalDoc = config.fewshot.split === config.testSplit
  const sampler = new FewshotSampler(task, options.seed ?? DEFAULT_FEWSHOT_SEED, excludeEvalDoc)
  const examples = new FewshotExamples(task)
  const requests: EvalDocRequest[] = []
  for (let index = 0; index < count; index++) {
    const doc = task.docs[index]
    const where = evalPlace(task, index)
    if (config.outputType === 'loglikelihood_rolling') {
      const text = textTarget(task, docTarget(task.prompts, doc, where), where)
      requests.push({
        index,
        doc,
        prompt: text,
        fewshot: [],
        target: text,
        request: { type: 'loglikelihood_rolling', text }
      })
      continue
    }
    const shots = sampler.sample(numFewshot, doc)
    const { prompt, turns } = context(task, doc, where, examples.turns(shots), options)
    const base = { index, doc, prompt, fewshot: shots, ...(turns ? { turns } : {}) }
    if (config.outputType === 'multiple_choice') {
      requests.push({
        ...base,
        ...multipleChoice(task, doc, where, prompt, options.renderChat !== undefined)
      })
    } else if (config.outputType === 'generate_until') {
      requests.push({ ...base, ...generation(task, doc, where, prompt) })
    } else {
      requests.push({ ...base, ...loglikelihood(task, doc, where, prompt) })
    }
  }
  return requests
}
