import { describe, expect, it } from 'vitest'
import { storedVote, toArenaBattle } from '../../../src-main/store/repos/arena'
import { openTempStore } from '../helpers'

function battle(aOnLeft: boolean) {
  const store = openTempStore()
  const created = store.arena.create({
    prompt: 'Tell me a story.',
    a: { key: 'base:1', label: 'stories260K' },
    b: { key: 'checkpoint:4', label: 'run 1 @ step 40' },
    outputA: 'base answer',
    outputB: 'tuned answer',
    aOnLeft,
    settings: { seed: 7 }
  })
  return { store, created }
}

describe('arena repository', () => {
  it('hides who wrote which side until the vote, then reveals both', () => {
    const { store, created } = battle(false)
    expect(toArenaBattle(created)).toMatchObject({
      left: { output: 'tuned answer', label: null },
      right: { output: 'base answer', label: null },
      vote: null
    })
    const voted = store.arena.vote(created.id, 'left')!
    expect(voted.vote).toBe('b') // the left side was b's answer
    expect(toArenaBattle(voted)).toMatchObject({
      left: { output: 'tuned answer', label: 'run 1 @ step 40' },
      right: { output: 'base answer', label: 'stories260K' },
      vote: 'left'
    })
    expect(store.arena.voted().map((b) => b.id)).toEqual([created.id])
  })

  it('stores a side vote as its author whichever side the author was shown on', () => {
    expect(storedVote('left', true)).toBe('a')
    expect(storedVote('right', true)).toBe('b')
    expect(storedVote('left', false)).toBe('b')
    expect(storedVote('right', false)).toBe('a')
    expect(storedVote('tie', false)).toBe('tie')
    expect(storedVote('both_bad', true)).toBe('both_bad')
  })

  it('answers null for a vote on a battle that does not exist', () => {
    const { store } = battle(true)
    expect(store.arena.vote(99, 'tie')).toBeNull()
  })

  it("keeps a chat battle's earlier turns beside its settings, each side's answers on its side", () => {
    const store = openTempStore()
    const created = store.arena.create({
      prompt: 'And then?',
      a: { key: 'base:1', label: 'stories260K' },
      b: { key: 'base:2', label: 'copy' },
      outputA: 'a2',
      outputB: 'b2',
      aOnLeft: false,
      settings: { source: 'playground' },
      history: [{ user: 'Hi', a: 'a1', b: 'b1' }]
    })
    const reread = store.arena.get(created.id)!
    expect(reread.settings).toEqual({ source: 'playground' })
    expect(reread.history).toEqual([{ user: 'Hi', a: 'a1', b: 'b1' }])
    expect(toArenaBattle(reread).history).toEqual([{ user: 'Hi', left: 'b1', right: 'a1' }])
    // A single-prompt battle has none.
    expect(toArenaBattle(battle(true).created).history).toEqual([])

    store.db
      .prepare('UPDATE arena_battles SET settings = ? WHERE id = ?')
      .run(JSON.stringify({ history: [{ user: 'Hi', a: 3 }] }), created.id)
    expect(() => store.arena.get(created.id)).toThrow(
      `arena_battles.settings of battle ${created.id}: "history" must be a list of {user, a, b} turns`
    )
  })
})
