/**
 * Samples → the rows a recipe trains on (loss-hook.ts, `rows` and `groupSize`): each sample becomes
 * a group of `groupSize` consecutive examples, which batches.ts then keeps whole. A recipe whose
 * data is grouped already (`groupRows`, grpo's rollouts) checks and regroups the whole epoch instead.
 */
import type { TrainingData, TrainingExample } from './data'
import type { EpochData } from './epoch-data'
import type { ResolvedRecipe } from './loss-hook'

/** The recipe's group size: its number, or the value of the integer parameter it names; default 1. */
export function recipeGroupSize({ hook, params }: ResolvedRecipe): number {
  const declared = hook.groupSize ?? 1
  const size = typeof declared === 'number' ? declared : params[declared]
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
    throw new Error(
      `recipe ${hook.name}: groupSize ${JSON.stringify(declared)} must be a positive integer` +
        (typeof declared === 'string' ? ` (parameter ${declared} is ${JSON.stringify(size)})` : '')
    )
  }
  return size
}

/** Every sample's rows, group after group; throws naming the line of a sample that gives a wrong count. */
export function recipeRows(recipe: ResolvedRecipe, samples: readonly TrainingExample[]): TrainingExample[] {
  const { hook, params } = recipe
  const groupSize = recipeGroupSize(recipe)
  if (!hook.rows) {
    if (groupSize !== 1) {
      throw new Error(`recipe ${hook.name}: groups of ${groupSize} rows need a rows() step to make them`)
    }
    return [...samples]
  }
  return samples.flatMap((sample) => {
    const rows = hook.rows!(sample, params)
    if (rows.length !== groupSize) {
      throw new Error(
        `recipe ${hook.name}: the sample from line ${sample.line} gave ${rows.length} rows, not its group size ${groupSize}`
      )
    }
    return rows
  })
}

/**
 * The epochs' data as the recipe trains it: every epoch's samples turned into their rows. Each
 * epoch's rows are made once for the examples `data` gives (it hands out the same examples for
 * an epoch until it moves on). `file` names the data in the errors of `groupRows`.
 */
export function withRecipeRows(data: EpochData, recipe: ResolvedRecipe, file = 'the data'): EpochData {
  const { hook } = recipe
  if (hook.rows && hook.groupRows) {
    throw new Error(
      `recipe ${hook.name}: declares both rows and groupRows; a recipe makes its groups one way`
    )
  }
  if (!hook.rows && !hook.groupRows && recipeGroupSize(recipe) === 1) return data
  const made = new WeakMap<TrainingData, TrainingData>()
  return {
    rowCount: data.rowCount,
    epoch(epoch) {
      const samples = data.epoch(epoch)
      let rows = made.get(samples)
      if (!rows) {
        rows = hook.groupRows
          ? groupedRows(recipe, samples, file)
          : { ...samples, examples: recipeRows(recipe, samples.examples) }
        made.set(samples, rows)
      }
      return rows
    }
  }
}

function groupedRows({ hook, params }: ResolvedRecipe, samples: TrainingData, file: string): TrainingData {
  try {
    return hook.groupRows!(samples, params)
  } catch (error) {
    throw new Error(`train: ${file}: ${(error as Error).message}`)
  }
}
