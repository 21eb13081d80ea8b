/**
 * Short runs of the recipes that mix grpo with the data's gold responses (chord, prefix-rft, seele)
 * on stories260K: the embedded story requests (invented-stories.ts `writeStoryRequests`), scored
 * by a reward spec, on a fresh LoRA.
 */
import type { TrainConfigInput } from '../../src-main/engine/train/train-config'
import { train, type TrainEvent } from '../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../src-main/recipes/index'
import { storiesConfig } from '../engine/train/invented-stories'
import { stepEvents, type StepEvent } from '../helpers/recipe-run'

/** The share of the requested name and animal the story mentions. */
export const REWARDS = JSON.stringify({
  terms: [{ reward: 'contains_all', weight: 1, params: { keys: 'name,animal' } }]
})

/**
 * Whether the story uses the article "a": the base model's answers differ in it, so its groups have
 * advantages to learn from (the requested name and animal it hardly ever mentions).
 */
export const ARTICLE_REWARDS = JSON.stringify({
  terms: [{ reward: 'regex_match', weight: 1, params: { pattern: '\\ba\\b' } }]
})

/** A run of `recipe` over `data` into `<dir>/<out>`: G = 4, two prompts a step, a fresh LoRA. */
export function demonstrationRun(
  dir: string,
  data: string,
  out: string,
  recipe: string,
  params: Record<string, string | number>,
  overrides: Partial<TrainConfigInput> = {}
) {
  return storiesConfig(dir, data, out, {
    adapter: { kind: 'lora', r: 8, alpha: 16, targets: ['q_proj', 'v_proj'] },
    recipe: {
      name: recipe,
      params: { rewards: REWARDS, group_size: 4, max_completion_length: 24, ...params }
    },
    lr: 3e-3,
    lrScheduler: 'constant',
    batchSize: 8,
    maxSteps: 1,
    maxSeqLen: 128,
    seed: 5,
    ...overrides
  })
}

export async function runSteps(config: ReturnType<typeof demonstrationRun>): Promise<StepEvent[]> {
  const events: TrainEvent[] = []
  await train(config, { resolveRecipe, onEvent: (event) => void events.push(event) })
  return stepEvents(events)
}
