/**
 * What the recipes that mix grpo with the data's gold responses (chord, prefix-rft, seele) share:
 * grpo's parameters with a reward spec required, the prompt copies grpo answers on its own samples
 * (grpo-online.ts), and a recipe state that keeps grpo's own state (the entropy-targeted sampling
 * temperature) under `grpo` beside the recipe's. The data are prompts with their gold responses
 * (any conversation or prompt/response rows): the response is the demonstration.
 */
import type { TrainingData } from '../engine/train/data'
import type { OnlineRolloutHook, RecipeState } from '../engine/train/run-hooks'
import { grpo, type GrpoParams } from './grpo'
import { generatesRollouts, grpoInitialState, promptCopies } from './grpo-online'
import type { RecipeParam } from './types'

/** grpo's parameters, its `rewards` described as what it is here: required. */
export function demonstrationParams(recipe: string): RecipeParam[] {
  return grpo.params.map((param) =>
    param.name === 'rewards'
      ? {
          ...param,
          description:
            'a reward spec in JSON ({"terms": [{"reward", "weight", "params"}]}, see finetune-studio rewards ' +
            `list), required: before every step the model answers each prompt group_size times and these rewards score it (${recipe} needs the data’s gold responses, so it has no given-rollouts form)`
        }
      : param
  )
}

/**
 * The members such a recipe takes from grpo as they are: the base model pass, the updates per
 * batch, groups of group_size prompt copies, which `check` may refuse first (naming the recipe).
 */
export function fromGrpo<P extends GrpoParams>(recipe: string, check: (params: P) => void = () => {}) {
  return {
    needs: grpo.needs,
    updatesPerBatch: grpo.updatesPerBatch,
    groupSize: 'group_size',
    groupRows: (data: TrainingData, params: P): TrainingData => {
      check(params)
      if (!generatesRollouts(params)) {
        throw new Error(
          `${recipe}: needs a reward spec (the rewards parameter, train --rewards SPEC): the model answers ` +
            'every prompt before each step and the spec scores the answers'
        )
      }
      const rollout = data.examples.find((example) => example.rollout)
      if (rollout) {
        throw new Error(
          `${recipe}: line ${rollout.line} is a rollout row; ${recipe} trains on prompts with their gold responses`
        )
      }
      return promptCopies(data, params)
    }
  }
}

/** grpo's part of a recipe state `{…, grpo}`. */
export function grpoPart(state: RecipeState): RecipeState {
  return (state as { grpo?: RecipeState } | null)?.grpo ?? null
}

/** The recipe's own state with grpo's beside it (grpo's initial state unless given). */
export function withGrpoState(
  own: { [key: string]: RecipeState },
  params: GrpoParams,
  grpoState: RecipeState = grpoInitialState(params)
): RecipeState {
  return { ...own, grpo: grpoState }
}

/** grpo's rollout hook for a state that keeps grpo's under `grpo`. */
export function rollingState<P extends GrpoParams>(
  hook: OnlineRolloutHook<GrpoParams>
): OnlineRolloutHook<P> {
  return { ...hook, sampling: (params, state) => hook.sampling(params, grpoPart(state)) }
}
