/**
 * A small fine-tuning set for stories260K: short stories about a dragon with an invented name,
 * which the base model never produces. Training on them should lower the loss on held-out
 * stories of the same kind and make greedy generation tell about the dragon.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { resolveTrainConfig, type TrainConfigInput } from '../../../src-main/engine/train/train-config'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { STORIES_260K, STORY_REQUESTS } from '../../helpers/temp'

export const INVENTED_NAME = 'Zob'

/** The prompt whose base continuation is "girl named Lily…" and tuned continuation names the dragon. */
export const STORY_PROMPT = 'Once upon a time, there was a little'

const OPENINGS = [
  'Once upon a time, there was a little dragon named Zob.',
  'Once upon a time, there was a little dragon called Zob.',
  'Zob was a little dragon who lived on a big hill.',
  'There once was a kind little dragon named Zob.'
]
const MIDDLES = [
  'Zob liked to fly over the trees and sing.',
  'Every day Zob played with his friend the bird.',
  'One day Zob found a shiny red stone in the grass.',
  'Zob was happy when the sun was warm.'
]
const HELD_OUT = [
  'Once upon a time, there was a little dragon named Zob. Zob liked to play in the sun.',
  'Zob the little dragon found a big box. Zob was very happy.',
  'There was a dragon named Zob. He liked to fly with the birds.',
  'One day Zob went to the park with his mom.'
]

/** 16 training stories: every opening with every middle, as {"prompt": "", "completion"} rows. */
export function trainingStories(): { prompt: string; completion: string }[] {
  return OPENINGS.flatMap((opening) =>
    MIDDLES.map((middle) => ({ prompt: '', completion: `${opening} ${middle}` }))
  )
}

export function heldOutStories(): { prompt: string; completion: string }[] {
  return HELD_OUT.map((completion) => ({ prompt: '', completion }))
}

export function writeJsonl(path: string, rows: readonly unknown[]): string {
  writeFileSync(path, rows.map((row) => JSON.stringify(row)).join('\n') + '\n')
  return path
}

/**
 * The embedded story requests ("Tell me a story about Bob the bird."), the first `count` of them,
 * each with the requested name and animal as its metadata (what contains_all rewards read), as
 * `<dir>/requests.jsonl`.
 */
export function writeStoryRequests(dir: string, count = Infinity): string {
  const rows = readFileSync(STORY_REQUESTS, 'utf8')
    .trim()
    .split('\n')
    .slice(0, count)
    .map((line) => JSON.parse(line) as { messages: { content: string }[] })
    .map((row) => {
      const [, name, animal] = /about (\w+) the (\w+)/.exec(row.messages[0].content)!
      return { ...row, metadata: { name, animal } }
    })
  return writeJsonl(join(dir, 'requests.jsonl'), rows)
}

/** A run on stories260K from `dataFile` into `<dir>/<out>`, graphs cached in `<dir>/cache`, batches of 4. */
export function storiesConfig(
  dir: string,
  dataFile: string,
  out: string,
  overrides: Partial<TrainConfigInput> = {}
) {
  return resolveTrainConfig(
    {
      modelDir: STORIES_260K,
      dataFile,
      outDir: join(dir, out),
      cacheDir: join(dir, 'cache'),
      batchSize: 4,
      ...overrides
    },
    resolveRecipe
  )
}
