/**
 * The rollout browser's store against a scripted preload bridge: it shows the latest step's
 * rollouts and follows new steps while the run trains, stays on a step the user picked, and drops
 * an answer that arrives after a newer request.
 */
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Events, RunRollouts } from '../../src-preload/contract'
import { ROLLOUTS_REFRESH_MS, useRunRolloutsStore } from '../../src-renderer/src/stores/runRollouts'
import { installScriptedBridge, ok } from './scripted-bridge'

const bridge = installScriptedBridge()

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

/** A step's rollouts: one prompt answered twice, the first completion rewarded. */
function rolloutsAt(step: number, steps: number[]): RunRollouts {
  return {
    steps,
    step,
    groups: [
      {
        line: 3,
        prompt: `prompt at ${step}`,
        reference: 'gold',
        completions: [
          { text: 'good', reward: 1, advantage: 0.7, terms: { contains_all: 1 } },
          { text: 'bad', reward: 0, advantage: -0.7, terms: { contains_all: 0 } }
        ]
      }
    ]
  }
}

function progressAt(runId: number, step: number): Events['run.progress'] {
  return {
    runId,
    step,
    totalSteps: 10,
    epoch: 0,
    loss: 1,
    lr: 1e-4,
    gradNorm: 1,
    tokensPerSecond: 100,
    elapsedSeconds: step,
    etaSeconds: 10 - step
  }
}

/** The run has rollouts up to `latest`; runs.rollouts answers like the API does. */
function answerUpTo(latest: number): void {
  const steps = Array.from({ length: latest }, (_, i) => i + 1)
  bridge.handle('runs.rollouts', (input) => ok(rolloutsAt(input.step ?? latest, steps)))
}

beforeEach(() => {
  setActivePinia(createPinia())
  bridge.reset()
})
afterEach(() => vi.useRealTimers())

describe('useRunRolloutsStore', () => {
  it('opens on the latest step and follows new steps while the run trains', async () => {
    vi.useFakeTimers()
    answerUpTo(2)
    const store = useRunRolloutsStore()
    store.open(7)
    await settle()
    expect(bridge.callsOf('runs.rollouts')).toEqual([{ id: 7 }])
    expect(store.steps).toEqual([1, 2])
    expect(store.step).toBe(2)
    expect(store.groups[0].prompt).toBe('prompt at 2')
    expect(store.groups[0].completions.map((c) => c.advantage)).toEqual([0.7, -0.7])

    answerUpTo(3)
    bridge.emit('run.progress', progressAt(8, 3)) // another run: not ours
    bridge.emit('run.progress', progressAt(7, 3))
    bridge.emit('run.progress', progressAt(7, 3))
    vi.advanceTimersByTime(ROLLOUTS_REFRESH_MS)
    await settle()
    expect(bridge.callsOf('runs.rollouts')).toEqual([{ id: 7 }, { id: 7 }])
    expect(store.step).toBe(3)
    expect(store.steps).toEqual([1, 2, 3])
  })

  it('stays on a step the user picked, and follows again once the latest is picked', async () => {
    vi.useFakeTimers()
    answerUpTo(3)
    const store = useRunRolloutsStore()
    store.open(7)
    await settle()
    await store.showStep(1)
    expect(store.following).toBe(false)
    expect(store.groups[0].prompt).toBe('prompt at 1')

    answerUpTo(4)
    bridge.emit('run.progress', progressAt(7, 4))
    vi.advanceTimersByTime(ROLLOUTS_REFRESH_MS)
    await settle()
    expect(bridge.callsOf('runs.rollouts').at(-1)).toEqual({ id: 7, step: 1 })
    expect(store.step).toBe(1)
    expect(store.steps).toEqual([1, 2, 3, 4])

    await store.showStep(4)
    expect(store.following).toBe(true)
    expect(bridge.callsOf('runs.rollouts').at(-1)).toEqual({ id: 7 })
    expect(store.step).toBe(4)
  })

  it('drops an answer that arrives after a newer request, and forgets the run on close', async () => {
    const answers: ((reply: ReturnType<typeof ok<RunRollouts>>) => void)[] = []
    bridge.handle('runs.rollouts', () => new Promise((resolve) => answers.push(resolve)))
    const store = useRunRolloutsStore()
    store.open(7)
    const picked = store.showStep(1)
    answers[1](ok(rolloutsAt(1, [1, 2])))
    await picked
    answers[0](ok(rolloutsAt(2, [1, 2])))
    await settle()
    expect(store.step).toBe(1)

    store.open(null)
    expect(store.steps).toEqual([])
    expect(store.groups).toEqual([])
  })
})
