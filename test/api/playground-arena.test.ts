/**
 * What the Playground's side-by-side chat needs from the API, on the embedded stories260K: a
 * conversation as models.generate's `messages` (rendered by the chat template, as the engine does
 * directly), and the pair of answers stored as an arena battle with its history, which the arena
 * then votes on blind, ranks and exports like any other.
 */
import { cpSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { encodeChatMessages, Generator } from '../../src-main/engine/infer/generation'
import { loadTokenizer } from '../../src-main/engine/tokenizer/tokenizer'
import { defaultModelDir } from '../../src-main/resources'
import { graphCacheDir } from '../../src-main/store/location'
import type { GenerateMessage } from '../../src-preload/contract'
import { useTrainingStore } from './run-fixtures'

const GREEDY = { maxNewTokens: 16, temperature: 0 }

const CHAT: GenerateMessage[] = [
  { role: 'user', content: 'Tell me about Lily.' },
  { role: 'assistant', content: 'Lily was a little girl who liked flowers.' },
  { role: 'user', content: 'What did she do next?' }
]

/** What the engine's Generator, used directly, answers to CHAT. */
async function referenceAnswer(cacheDir: string): Promise<string> {
  const tokenizer = loadTokenizer(defaultModelDir())
  const generator = await Generator.open({ modelDir: defaultModelDir() }, { cacheDir })
  try {
    const result = await generator.generate(encodeChatMessages(tokenizer, CHAT), tokenizer, GREEDY)
    return result.text
  } finally {
    await generator.release()
  }
}

describe('models.generate with messages', () => {
  const fixture = useTrainingStore()

  it('answers the last user turn of a conversation through the chat template, as the engine does', async () => {
    const { baseModelId } = fixture.inputs
    const result = await fixture.api.call('models.generate', { baseModelId, messages: CHAT, ...GREEDY })
    expect(result).toMatchObject({ finishReason: 'length', tokenCount: 16 })
    expect(result.text).toBe(await referenceAnswer(graphCacheDir(fixture.api.store.dir)))

    // One user turn as messages is the chat prompt it always was.
    const [first] = CHAT
    const asMessages = await fixture.api.call('models.generate', {
      baseModelId,
      messages: [first],
      ...GREEDY
    })
    const asPrompt = await fixture.api.call('models.generate', {
      baseModelId,
      prompt: first.content,
      chat: true,
      ...GREEDY
    })
    expect(asMessages.text).toBe(asPrompt.text)
    expect(asMessages.text).not.toBe(result.text)
  }, 120_000)

  it('refuses messages with a prompt, without the chat template, or not ending with a user turn', async () => {
    const baseModelId = fixture.inputs.baseModelId
    await expect(
      fixture.api.call('models.generate', { baseModelId, prompt: 'Hi', messages: CHAT })
    ).rejects.toThrow(/give exactly one of prompt and messages/)
    await expect(fixture.api.call('models.generate', { baseModelId })).rejects.toThrow(
      /give exactly one of prompt and messages/
    )
    await expect(
      fixture.api.call('models.generate', { baseModelId, messages: CHAT, chat: false })
    ).rejects.toThrow(/chat cannot be false with messages/)
    await expect(
      fixture.api.call('models.generate', { baseModelId, messages: CHAT.slice(0, 2) })
    ).rejects.toThrow(/messages must end with the user turn to answer/)
  })
})

describe('arena.record: a side-by-side chat as an arena battle', () => {
  const fixture = useTrainingStore()
  let baseModelId: number
  let otherModelId: number
  let otherLabel: string

  beforeAll(() => {
    baseModelId = fixture.inputs.baseModelId
    // A second target: the same weights registered from another folder.
    const copy = join(fixture.folder, 'stories260K-copy')
    cpSync(defaultModelDir(), copy, { recursive: true })
    const other = fixture.api.store.models.register({
      name: 'stories260K copy',
      path: copy,
      architecture: 'LlamaForCausalLM',
      parameterCount: 260_000,
      dtype: 'F32',
      contentHash: 'stories260K-copy-test',
      config: {}
    })
    otherModelId = other.id
    otherLabel = other.name
  })

  const TURNS = [
    { user: 'Tell me about Lily.', a: 'Lily liked flowers.', b: 'Lily had a dog.' },
    { user: 'And then?', a: 'She picked a rose.', b: 'The dog ran away.' }
  ]

  it('stores the last turn as the prompt and the earlier ones as history, each side blind until the vote', async () => {
    const battle = await fixture.api.call('arena.record', {
      a: { baseModelId },
      b: { baseModelId: otherModelId },
      turns: TURNS,
      settings: { a: { temperature: 0 }, b: { temperature: 0.7 } }
    })
    expect(battle.prompt).toBe('And then?')
    expect([battle.left.label, battle.right.label]).toEqual([null, null])
    const aOnLeft = battle.left.output === 'She picked a rose.'
    expect(aOnLeft ? battle.right.output : battle.left.output).toBe('The dog ran away.')
    // Each side's history is its own author's, on the same side as its answer.
    expect(battle.history).toEqual([
      {
        user: 'Tell me about Lily.',
        left: aOnLeft ? 'Lily liked flowers.' : 'Lily had a dog.',
        right: aOnLeft ? 'Lily had a dog.' : 'Lily liked flowers.'
      }
    ])
    expect(await fixture.api.call('arena.battles', {})).toEqual([battle])
    const stored = fixture.api.store.arena.get(battle.id)!
    expect(stored.settings).toEqual({
      source: 'playground',
      generation: { a: { temperature: 0 }, b: { temperature: 0.7 } }
    })

    // The vote is on the side shown; the copy wins, whichever side it was on.
    const voted = await fixture.api.call('arena.vote', { id: battle.id, vote: aOnLeft ? 'right' : 'left' })
    expect(aOnLeft ? voted.right.label : voted.left.label).toBe(otherLabel)
    const board = await fixture.api.call('arena.leaderboard', {})
    expect(board.map((s) => [s.key, s.wins, s.losses])).toEqual([
      [`base:${otherModelId}`, 1, 0],
      [`base:${baseModelId}`, 0, 1]
    ])

    // The preference pair keeps the chat: the earlier turns with the winner's answers.
    const exported = await fixture.api.call('arena.export', { name: 'side by side' })
    const [sample] = fixture.api.store.datasets.versionSamples(exported.versionId)
    expect(sample.conversation.messages).toEqual([
      { role: 'user', content: 'Tell me about Lily.' },
      { role: 'assistant', content: 'Lily had a dog.' },
      { role: 'user', content: 'And then?' },
      { role: 'assistant', content: 'The dog ran away.' }
    ])
    expect(sample.conversation.rejected).toEqual([{ role: 'assistant', content: 'She picked a rose.' }])
  })

  it('refuses the same target twice, an unknown one, and a chat without turns', async () => {
    await expect(
      fixture.api.call('arena.record', { a: { baseModelId }, b: { baseModelId }, turns: TURNS })
    ).rejects.toThrow(/arena.record: a and b are the same \(stories260K\)/)
    await expect(
      fixture.api.call('arena.record', { a: { baseModelId }, b: { checkpointId: 999 }, turns: TURNS })
    ).rejects.toThrow(/checkpoint 999/)
    await expect(
      fixture.api.call('arena.record', {
        a: { baseModelId },
        b: { baseModelId: otherModelId },
        turns: []
      })
    ).rejects.toThrow(/turns/)
  })
})
