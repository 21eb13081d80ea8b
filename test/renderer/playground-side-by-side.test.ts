/**
 * The Playground side by side, store only: two targets answer the same chat at once, each side's
 * text assembled from its own request's job.output pieces, each side's history holding its own
 * answers; settings shared or per side; stop one side or both; and the chat saved as an arena
 * battle, which the Evaluate view's arena then shows waiting for its vote.
 */
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import type { ArenaBattle, CallInput } from '../../src-preload/contract'
import { useArenaStore } from '../../src-renderer/src/stores/arena'
import { useSideBySideStore } from '../../src-renderer/src/stores/playgroundSideBySide'
import { useToastStore } from '../../src-renderer/src/stores/toasts'
import { jobSummary, modelListing, runWithCheckpoints } from './replies'
import { installScriptedBridge, ok, settle, type Reply } from './scripted-bridge'

const bridge = installScriptedBridge()

type GenerateInput = CallInput<'models.generate'>

/** The models.generate calls still waiting for their answer, in the order they were made. */
let pending: { input: GenerateInput; answer: (reply: Reply<'models.generate'>) => void }[] = []

function finish(input: GenerateInput, jobId: string, text: string, finishReason: 'eos' | 'aborted' = 'eos') {
  const call = pending.find((p) => p.input === input)!
  pending = pending.filter((p) => p !== call)
  call.answer(ok({ jobId, text, finishReason, tokenCount: text.split(' ').length }))
}

const savedBattle: ArenaBattle = {
  id: 8,
  history: [{ user: 'Hi', left: 'Hello there', right: 'Hi!' }],
  prompt: 'Tell me a story.',
  left: { output: 'Once upon a time', label: null },
  right: { output: 'Lily ran', label: null },
  vote: null,
  createdAt: '2026-01-01T00:00:00Z',
  votedAt: null
}

describe('the Playground side by side', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    bridge.reset()
    pending = []
    bridge.handle('models.list', () =>
      ok([modelListing(), modelListing({ id: 4, name: 'tiny', contextLength: 256 })])
    )
    bridge.handle('runs.checkpoints', () =>
      ok([
        runWithCheckpoints(1, [
          { id: 110, step: 10 },
          { id: 120, step: 20 }
        ])
      ])
    )
    bridge.handle('models.generate', (input) => new Promise((answer) => pending.push({ input, answer })))
    bridge.handle('jobs.cancel', (input) => ok(jobSummary(input.id, 'engine.generate', 'cancelled')))
  })

  it('puts the first base model against the newest checkpoint, and names them', async () => {
    const store = useSideBySideStore()
    await store.load()
    expect(store.sides.map((side) => side.target)).toEqual(['base:3', 'checkpoint:120'])
    expect(store.sides.map((side) => store.targetLabel(side.target))).toEqual([
      'stories260K',
      'run-1 · step 20'
    ])
  })

  it('sends one message to both at once, streams each side from its own request, and keeps each side its own history', async () => {
    const store = useSideBySideStore()
    await store.load()
    expect(store.sendProblem).toBe('Type a message.')
    store.draft = 'Hi'
    const first = store.send()
    await settle()
    expect(store.draft).toBe('')
    expect(store.busy).toBe(true)
    const [left, right] = bridge.callsOf('models.generate')
    expect(left).toMatchObject({
      baseModelId: 3,
      messages: [{ role: 'user', content: 'Hi' }],
      maxNewTokens: 128
    })
    expect(right).toMatchObject({ checkpointId: 120, messages: [{ role: 'user', content: 'Hi' }] })
    expect(left.prompt).toBeUndefined()
    expect(left.requestId).not.toBe(right.requestId)

    bridge.emit('job.output', { jobId: 'job-l', requestId: left.requestId!, text: '' })
    bridge.emit('job.output', { jobId: 'job-r', requestId: right.requestId!, text: '' })
    bridge.emit('job.output', { jobId: 'job-l', requestId: left.requestId!, text: 'Hello' })
    bridge.emit('job.output', { jobId: 'job-r', requestId: right.requestId!, text: 'Hi' })
    bridge.emit('job.output', { jobId: 'job-x', requestId: 'another-window', text: ' NOISE' })
    bridge.emit('job.output', { jobId: 'job-l', requestId: left.requestId!, text: ' there' })
    expect(store.turns[0].answers.map((a) => a.text)).toEqual(['Hello there', 'Hi'])
    expect(store.canStop(0)).toBe(true)

    // The right side ends first; the left goes on streaming.
    finish(right, 'job-r', 'Hi!')
    await settle()
    expect(store.sides.map((side) => side.generating)).toEqual([true, false])
    expect(store.turns[0].answers[1].result).toMatchObject({ text: 'Hi!', finishReason: 'eos' })
    finish(left, 'job-l', 'Hello there')
    await first
    expect(store.busy).toBe(false)

    store.draft = 'Tell me a story.'
    const second = store.send()
    await settle()
    const [, , left2, right2] = bridge.callsOf('models.generate')
    // The user's turns are shared; each side sees its own answers.
    expect(left2.messages).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello there' },
      { role: 'user', content: 'Tell me a story.' }
    ])
    expect(right2.messages).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hi!' },
      { role: 'user', content: 'Tell me a story.' }
    ])
    finish(left2, 'job-l2', 'Once upon a time')
    finish(right2, 'job-r2', 'Lily ran')
    await second
    expect(store.turns.map((turn) => turn.user)).toEqual(['Hi', 'Tell me a story.'])

    store.clear()
    expect(store.turns).toEqual([])
    expect(store.hasChat).toBe(false)
  })

  it('stops one side alone, or both; each stopped answer keeps its text', async () => {
    const store = useSideBySideStore()
    await store.load()
    store.draft = 'Hi'
    const turn = store.send()
    await settle()
    const [left, right] = bridge.callsOf('models.generate')
    // Before its job is named, a side cannot be stopped.
    expect(store.canStop(0)).toBe(false)
    bridge.emit('job.output', { jobId: 'job-l', requestId: left.requestId!, text: 'Hel' })
    bridge.emit('job.output', { jobId: 'job-r', requestId: right.requestId!, text: 'Once' })

    await store.stop(0)
    expect(bridge.callsOf('jobs.cancel')).toEqual([{ id: 'job-l' }])
    expect(store.canStop(0)).toBe(false)
    expect(store.canStop(1)).toBe(true)
    await store.stopBoth()
    // The left one's stop is already under way: only the right one is cancelled now.
    expect(bridge.callsOf('jobs.cancel')).toEqual([{ id: 'job-l' }, { id: 'job-r' }])

    finish(left, 'job-l', 'Hel', 'aborted')
    finish(right, 'job-r', 'Once', 'aborted')
    await turn
    expect(store.turns[0].answers.map((a) => [a.text, a.result?.finishReason])).toEqual([
      ['Hel', 'aborted'],
      ['Once', 'aborted']
    ])
  })

  it('shares the sampling settings, or gives each side its own starting from the shared ones', async () => {
    const store = useSideBySideStore()
    await store.load()
    store.sides[1].target = 'base:4'
    // Shared, the stricter context bounds both sides.
    expect(store.sharedLimit).toBe(255)
    store.sharedSettings.maxNewTokens = 300
    expect(store.sharedProblem).toBe(
      'tiny reads 256 tokens at once, the prompt included: ask for at most 255 new tokens, fewer for a long prompt.'
    )
    store.draft = 'Hi'
    expect(store.canSend).toBe(false)
    expect(store.sendProblem).toBe('Fix the max new tokens first.')
    store.sharedSettings.maxNewTokens = 64
    store.sharedSettings.temperature = 0

    store.sameSettings = false
    await settle()
    expect(store.sides.map((side) => side.settings.maxNewTokens)).toEqual([64, 64])
    expect(store.limits).toEqual([511, 255])
    store.sides[0].settings.maxNewTokens = 300
    store.sides[1].settings.temperature = 1.2
    store.sides[1].settings.topK = 40
    expect(store.problems).toEqual([null, null])
    const turn = store.send()
    await settle()
    const [left, right] = bridge.callsOf('models.generate')
    expect(left).toMatchObject({ maxNewTokens: 300, temperature: 0 })
    expect(left.topK).toBeUndefined()
    expect(right).toMatchObject({ baseModelId: 4, maxNewTokens: 64, temperature: 1.2, topK: 40 })
    finish(left, 'a', 'x')
    finish(right, 'b', 'y')
    await turn
  })

  it('saves the chat as an arena battle once both have answered, with each turn and its settings', async () => {
    bridge.handle('arena.record', () => ok(savedBattle))
    const store = useSideBySideStore()
    await store.load()
    expect(store.saveProblem).toBe('Chat first: the arena votes on the last turn.')
    for (const [message, a, b] of [
      ['Hi', 'Hello there', 'Hi!'],
      ['Tell me a story.', 'Once upon a time', 'Lily ran']
    ]) {
      store.draft = message
      const turn = store.send()
      await settle()
      expect(store.saveProblem).toBe('Wait for both answers.')
      const [left, right] = bridge.callsOf('models.generate').slice(-2)
      finish(left, 'l', a)
      finish(right, 'r', b)
      await turn
    }
    expect(store.saveProblem).toBeNull()
    await store.saveToArena()
    expect(bridge.callsOf('arena.record')).toEqual([
      {
        a: { baseModelId: 3 },
        b: { checkpointId: 120 },
        turns: [
          { user: 'Hi', a: 'Hello there', b: 'Hi!' },
          { user: 'Tell me a story.', a: 'Once upon a time', b: 'Lily ran' }
        ],
        settings: {
          turns: [
            {
              a: expect.objectContaining({ temperature: 0.7 }),
              b: expect.objectContaining({ temperature: 0.7 })
            },
            {
              a: expect.objectContaining({ maxNewTokens: 128 }),
              b: expect.objectContaining({ maxNewTokens: 128 })
            }
          ]
        }
      }
    ])
    expect(store.saved?.id).toBe(8)
    // Saved once; a new turn makes a new chat to save.
    await store.saveToArena()
    expect(bridge.callsOf('arena.record')).toHaveLength(1)

    // The Evaluate view's arena opens on it, blind, waiting for the vote.
    bridge.handle('datasets.list', () => ok([]))
    bridge.handle('arena.leaderboard', () => ok([]))
    bridge.handle('arena.battles', () => ok([savedBattle, { ...savedBattle, id: 7, vote: 'left' }]))
    const arena = useArenaStore()
    await arena.load()
    expect(arena.battle).toEqual(savedBattle)
    expect(arena.awaitingVote).toBe(true)
  })

  it('will not save the same target twice, or a chat with a failed answer', async () => {
    const store = useSideBySideStore()
    await store.load()
    store.sides[1].target = 'base:3'
    store.draft = 'Hi'
    const turn = store.send()
    await settle()
    const [left, right] = bridge.callsOf('models.generate')
    finish(left, 'l', 'Hello')
    pending
      .find((p) => p.input === right)!
      .answer({
        ok: false,
        error: { code: 'failed', message: 'models.generate: stories260K: out of memory' }
      })
    await turn
    expect(store.turns[0].answers[1].error).toBe('models.generate: stories260K: out of memory')
    expect(useToastStore().toasts).toEqual([
      expect.objectContaining({ message: 'models.generate: stories260K: out of memory' })
    ])
    expect(store.saveProblem).toBe('The arena compares two different models or checkpoints.')
    store.clear()
    store.sides[1].target = 'checkpoint:110'
    store.draft = 'Hi'
    const again = store.send()
    await settle()
    const [left2, right2] = bridge.callsOf('models.generate').slice(-2)
    finish(left2, 'l', 'Hello')
    pending
      .find((p) => p.input === right2)!
      .answer({
        ok: false,
        error: { code: 'failed', message: 'models.generate: run-1: no weights' }
      })
    await again
    expect(store.saveProblem).toBe('An answer failed: clear the chat and try again.')
    await store.saveToArena()
    expect(bridge.callsOf('arena.record')).toEqual([])
  })
})
