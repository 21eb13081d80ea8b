/**
 * The 'before-training' selection of a recipe (run-hooks.ts, `select`): the training rows grouped
 * into candidates per prompt, every candidate scored once by the frozen base model with the
 * inference Scorer (forward only, the same scoring `score` and `eval` use), and the recipe's choice
 * kept for every epoch.
 *
 * The Scorer opens its own onnxruntime session in the trainer's process (a job worker or the CLI)
 * and releases it before the step program is compiled, so the run never holds both sessions at
 * once. It scores the model as the run starts: the base model folder, plus the `--init-adapter`
 * of a LoRA run that has one (full fine-tuning starts from the folder's weights). That makes the
 * choice a function of the run's settings and data alone: a resumed run, and pre-flight, select
 * the same rows.
 */
import { Scorer, type RowScore, type ScoreRow } from '../infer/scoring'
import { IGNORE_INDEX } from '../tokenizer/labels'
import type { ExampleTokens, TrainingData, TrainingExample } from './data'
import type { LossHook, RecipeParams, ResolvedRecipe } from './loss-hook'
import type { CandidateSelection, ScoredCandidate } from './run-hooks'
import type { TrainConfig } from './train-config'

export type ScoreRows = (rows: readonly ScoreRow[]) => Promise<RowScore[]>

/** A resolved recipe that declares a selection. */
export interface SelectingRecipe extends ResolvedRecipe {
  hook: LossHook & { select: CandidateSelection<RecipeParams> }
}

export function isSelecting(recipe: ResolvedRecipe): recipe is SelectingRecipe {
  return recipe.hook.select !== undefined
}

/** The prompt an example answers: its tokens before the first trained one, as a map key. */
export function promptKey(example: ExampleTokens): string {
  const firstTrained = example.labels.findIndex((label) => label !== IGNORE_INDEX)
  return example.inputIds.subarray(0, firstTrained).join(',')
}

/** The examples grouped by prompt, groups in the order of their first row, rows in file order. */
export function candidateGroups(examples: readonly TrainingExample[]): TrainingExample[][] {
  const groups = new Map<string, TrainingExample[]>()
  for (const example of examples) {
    const key = promptKey(example)
    const group = groups.get(key)
    if (group) group.push(example)
    else groups.set(key, [example])
  }
  return [...groups.values()]
}

/**
 * `data` with only the candidates the recipe keeps; the others join `dropped`, naming the line of
 * a kept candidate of their prompt. Examples keep their file order.
 */
export async function selectCandidates(
  data: TrainingData,
  recipe: SelectingRecipe,
  score: ScoreRows
): Promise<TrainingData> {
  const scores = await score(
    data.examples.map((example) => ({ inputIds: [...example.inputIds], labels: [...example.labels] }))
  )
  const scoreOf = new Map(data.examples.map((example, i) => [example, scores[i]]))
  const kept = new Set<TrainingExample>()
  const dropped = [...data.dropped]
  for (const group of candidateGroups(data.examples)) {
    const candidates: ScoredCandidate[] = group.map((example) => {
      const { logprob, tokens } = scoreOf.get(example)!
      return { line: example.line, logprob, tokens }
    })
    const chosen = recipe.hook.select.keep(candidates, recipe.params)
    if (chosen.length === 0 || chosen.some((i) => !Number.isInteger(i) || i < 0 || i >= group.length)) {
      throw new Error(
        `recipe ${recipe.hook.name}: selection kept ${JSON.stringify(chosen)} of the ${group.length} ` +
          `candidates for the prompt of line ${group[0].line}; it must keep at least one valid index`
      )
    }
    chosen.forEach((i) => kept.add(group[i]))
    const keptLine = group[chosen[0]].line
    for (const example of group) {
      if (kept.has(example)) continue
      dropped.push({
        line: example.line,
        reason: `recipe ${recipe.hook.name} kept another candidate for the same prompt (line ${keptLine})`
      })
    }
  }
  dropped.sort((a, b) => a.line - b.line)
  return { ...data, examples: data.examples.filter((example) => kept.has(example)), dropped }
}

/** selectCandidates with the model as the run starts scoring; its session is released after. */
export async function selectWithBaseModel(
  data: TrainingData,
  recipe: SelectingRecipe,
  run: Pick<TrainConfig, 'modelDir' | 'adapter' | 'device' | 'cacheDir'>
): Promise<TrainingData> {
  const adapterDir = run.adapter.kind === 'lora' ? (run.adapter.initAdapterDir ?? undefined) : undefined
  const scorer = await Scorer.open(
    { modelDir: run.modelDir, adapterDir },
    { device: run.device, cacheDir: run.cacheDir }
  )
  try {
    return await selectCandidates(data, recipe, (rows) => scorer.scoreAll(rows))
  } finally {
    await scorer.release()
  }
}
