/**
 * Writes the embedded demo's dataset and benchmark (deterministic: run it again and the files are
 * byte-identical). Run: `npx tsx scripts/make-demo-data.ts`.
 *
 * The task: answer "Tell me a story about <name> the <animal>." with a short story that uses that
 * name and that animal. The base model (stories260K, trained on TinyStories) writes stories, but has
 * never seen a request, so it ignores it. Held-out prompts are (name, animal) pairs that never occur
 * in training, although each name and each animal does: the benchmark measures whether the model
 * learned to take both from the request rather than memorising pairs.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Rng } from '../src-main/engine/rng'

const SEED = 20261128
const ROOT = join(import.meta.dirname, '..', 'resources')

const NAMES = [
  'Lily',
  'Tom',
  'Ben',
  'Mia',
  'Sam',
  'Max',
  'Anna',
  'Tim',
  'Sue',
  'Jack',
  'Lucy',
  'Sara',
  'Bob',
  'Amy',
  'Leo',
  'Zoe'
]
const ANIMALS = ['cat', 'dog', 'bird', 'fish', 'bunny', 'bear', 'frog', 'duck', 'lion', 'mouse', 'owl', 'fox']
const PLACES = ['park', 'garden', 'forest', 'pond', 'yard', 'field']
const THINGS = ['red ball', 'big box', 'shiny stone', 'little boat', 'yellow kite', 'soft hat']
const FRIENDS = ['a girl', 'a boy', 'a kind bird', 'a little bug', 'a happy dog', 'a big cat']

/** Each story names the animal and the name several times, in the plain style of TinyStories. */
const STORIES: ((s: Slots) => string)[] = [
  (s) =>
    `Once upon a time, there was a ${s.animal} named ${s.name}. ${s.name} the ${s.animal} loved to play in the ${s.place}. ` +
    `One day, ${s.name} found a ${s.thing}. ${s.name} was very happy and showed it to ${s.friend}. ` +
    `They played with the ${s.thing} all day. ${s.name} the ${s.animal} learned that sharing is fun.`,
  (s) =>
    `${s.name} was a little ${s.animal}. Every day, ${s.name} went to the ${s.place} to look for friends. ` +
    `One morning, ${s.name} the ${s.animal} met ${s.friend}. "Do you want to play?" asked ${s.name}. ` +
    `They ran and jumped until the sun went down. ${s.name} was not alone anymore.`,
  (s) =>
    `Once upon a time, in a big ${s.place}, lived a ${s.animal} called ${s.name}. ${s.name} wanted a ${s.thing} very much. ` +
    `${s.name} the ${s.animal} asked ${s.friend} for help. Together they looked everywhere. ` +
    `At last they found the ${s.thing} under a tree. ${s.name} said, "Thank you!" and smiled.`,
  (s) =>
    `There was a ${s.animal} named ${s.name} who was scared of the dark. One night, ${s.name} heard a noise in the ${s.place}. ` +
    `${s.name} the ${s.animal} was brave and went to look. It was only ${s.friend}! ` +
    `They laughed and became friends. Now ${s.name} is not scared anymore.`
]

interface Slots {
  name: string
  animal: string
  place: string
  thing: string
  friend: string
}

function prompt(name: string, animal: string): string {
  return `Tell me a story about ${name} the ${animal}.`
}

function conversation(rng: Rng, name: string, animal: string, story: number) {
  const slots: Slots = {
    name,
    animal,
    place: PLACES[rng.int(PLACES.length)],
    thing: THINGS[rng.int(THINGS.length)],
    friend: FRIENDS[rng.int(FRIENDS.length)]
  }
  return {
    messages: [
      { role: 'user', content: prompt(name, animal) },
      { role: 'assistant', content: STORIES[story](slots) }
    ]
  }
}

function jsonl(rows: unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n'
}

function main(): void {
  const rng = Rng.fromSeed(SEED)
  const pairs = NAMES.flatMap((name) => ANIMALS.map((animal) => ({ name, animal })))
  rng.shuffle(pairs)
  // Two held-out pairs per name, each animal at most three times: every name and every animal still
  // appears in training with other partners.
  const heldOut: typeof pairs = []
  const animalUse = new Map<string, number>()
  for (const round of [0, 1]) {
    for (const name of NAMES) {
      const pick = pairs.find(
        (p) => p.name === name && (animalUse.get(p.animal) ?? 0) <= round + 1 && !heldOut.includes(p)
      )!
      heldOut.push(pick)
      animalUse.set(pick.animal, (animalUse.get(pick.animal) ?? 0) + 1)
    }
  }
  const training = pairs.filter((p) => !heldOut.includes(p))

  const train = training.flatMap((p, i) => [
    conversation(rng, p.name, p.animal, i % STORIES.length),
    conversation(rng, p.name, p.animal, (i + 1) % STORIES.length)
  ])
  rng.shuffle(train)
  const validation = heldOut.map((p, i) => conversation(rng, p.name, p.animal, i % STORIES.length))

  const datasetDir = join(ROOT, 'datasets', 'story-requests')
  mkdirSync(datasetDir, { recursive: true })
  writeFileSync(join(datasetDir, 'train.jsonl'), jsonl(train))
  writeFileSync(join(datasetDir, 'validation.jsonl'), jsonl(validation))

  const benchmarkDir = join(ROOT, 'benchmarks', 'story-requests')
  mkdirSync(benchmarkDir, { recursive: true })
  const items = heldOut.map((p) => ({
    id: `${p.name}-${p.animal}`,
    prompt: prompt(p.name, p.animal),
    name: p.name,
    animal: p.animal
  }))
  writeFileSync(join(benchmarkDir, 'items.jsonl'), jsonl(items))
  console.log(
    `wrote ${train.length} training and ${validation.length} validation conversations, ${items.length} benchmark items`
  )
}

main()
