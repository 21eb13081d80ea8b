/**
 * The Playground store without a DOM: the model picker's data, and one generation whose text is
 * assembled from job.output events of its own request while the call is still running.
 */
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { usePlaygroundStore } from '../../src-renderer/src/stores/playground'
import { targetInput } from '../../src-renderer/src/stores/targets'
import { useToastStore } from '../../src-renderer/src/stores/toasts'
import { jobSummary, modelListing, runWithCheckpoints } from './replies'
import { installScriptedBridge, ok, settle, type Reply } from './scripted-bridge'

const bridge = installScriptedBridge()

describe('the Playground store', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    bridge.reset()
    bridge.handle('models.list', () => ok([modelListing()]))
    bridge.handle('runs.checkpoints', () =>
      ok([
        runWithCheckpoints(1, [
          { id: 110, step: 10 },
          { id: 120, step: 20 }
        ])
      ])
    )
  })

  it('lists base models and, grouped by run, the checkpoints of runs that have any', async () => {
    const store = usePlaygroundStore()
    await store.load()
    expect(store.models.map((m) => m.id)).toEqual([3])
    expect(store.runs).toEqual([
      {
        runId: 1,
        runName: 'run-1',
        baseModelId: 3,
        status: 'completed',
        checkpoints: [
          expect.objectContaining({ id: 110, step: 10 }),
          expect.objectContaining({ id: 120, step: 20 })
        ]
      }
    ])
    expect(store.target).toBe('base:3')
    expect(targetInput('checkpoint:120')).toEqual({ checkpointId: 120 })
    expect(targetInput('base:3')).toEqual({ baseModelId: 3 })
    expect(targetInput('')).toBeNull()
  })

  it('assembles the text from its own job.output pieces as they come, and stops through jobs.cancel', async () => {
    let answer!: (reply: Reply<'models.generate'>) => void
    bridge.handle('models.generate', () => new Promise((resolve) => (answer = resolve)))
    bridge.handle('jobs.cancel', (input) => ok(jobSummary(input.id, 'engine.generate', 'cancelled')))
    const store = usePlaygroundStore()
    await store.load()
    store.target = 'checkpoint:120'
    store.settings.prompt = 'Once'
    store.settings.temperature = 0
    const generation = store.generate()
    await settle()

    const [input] = bridge.callsOf('models.generate')
    expect(input).toMatchObject({
      checkpointId: 120,
      prompt: 'Once',
      chat: true,
      temperature: 0,
      maxNewTokens: 128
    })
    expect(input.baseModelId).toBeUndefined()
    // Top-p, top-k and the stop text are left out while their fields are empty.
    expect(input.topP).toBeUndefined()
    expect(input.topK).toBeUndefined()
    expect(input.stop).toBeUndefined()
    const requestId = input.requestId!
    expect(requestId).toEqual(expect.any(String))
    expect(store.generating).toBe(true)
    expect(store.jobId).toBeNull()

    bridge.emit('job.output', { jobId: 'job-7', requestId, text: '' })
    bridge.emit('job.output', { jobId: 'job-7', requestId, text: ' upon' })
    // Another window's generation is not ours.
    bridge.emit('job.output', { jobId: 'job-8', requestId: 'someone-else', text: ' NOISE' })
    bridge.emit('job.output', { jobId: 'job-7', requestId, text: ' a time' })
    expect(store.output).toBe(' upon a time')
    expect(store.jobId).toBe('job-7')

    await store.stop()
    expect(bridge.callsOf('jobs.cancel')).toEqual([{ id: 'job-7' }])

    answer(ok({ jobId: 'job-7', text: ' upon a time,', finishReason: 'aborted', tokenCount: 4 }))
    await generation
    expect(store.generating).toBe(false)
    expect(store.output).toBe(' upon a time,')
    expect(store.result).toMatchObject({ finishReason: 'aborted', tokenCount: 4 })
    expect(store.jobId).toBeNull()

    // Pieces arriving after the answer (or for an old request) change nothing.
    bridge.emit('job.output', { jobId: 'job-7', requestId, text: ' late' })
    expect(store.output).toBe(' upon a time,')
  })

  it('sends top-p, top-k and a stop text when they are set', async () => {
    bridge.handle('models.generate', () =>
      ok({ jobId: 'job-9', text: ' upon', finishReason: 'stop', tokenCount: 1 })
    )
    const store = usePlaygroundStore()
    await store.load()
    store.target = 'checkpoint:120'
    store.settings.topP = 0.9
    store.settings.topK = 40
    store.settings.stop = '.'
    await store.generate()
    expect(bridge.callsOf('models.generate')[0]).toMatchObject({ topP: 0.9, topK: 40, stop: ['.'] })
    expect(store.output).toBe(' upon')
  })

  it("caps the new tokens at the model's context, says so in words, and sends nothing beyond it", async () => {
    bridge.handle('models.generate', () =>
      ok({ jobId: 'job-1', text: '', finishReason: 'length', tokenCount: 1 })
    )
    const store = usePlaygroundStore()
    await store.load()
    // A checkpoint reads what the base model of its run reads.
    for (const target of ['base:3', 'checkpoint:120'] as const) {
      store.target = target
      expect(store.maxNewTokensLimit).toBe(511)
      store.settings.maxNewTokens = 600
      expect(store.maxNewTokensProblem).toBe(
        'stories260K reads 512 tokens at once, the prompt included: ask for at most 511 new tokens, fewer for a long prompt.'
      )
      expect(store.canGenerate).toBe(false)
      await store.generate()
      expect(bridge.callsOf('models.generate')).toEqual([])
    }
    store.settings.maxNewTokens = ''
    expect(store.maxNewTokensProblem).toBe('Ask for 1 new token or more.')
    store.settings.maxNewTokens = 511
    expect(store.maxNewTokensProblem).toBeNull()
    await store.generate()
    expect(bridge.callsOf('models.generate')).toHaveLength(1)
  })

  it('shows a refused generation as a toast and is ready again', async () => {
    bridge.handle('models.generate', () => ({
      ok: false,
      error: { code: 'not_found', message: 'models.generate: checkpoint 120 does not exist' }
    }))
    const store = usePlaygroundStore()
    await store.load()
    store.target = 'checkpoint:120'
    await store.generate()
    expect(useToastStore().toasts).toEqual([
      expect.objectContaining({
        code: 'not_found',
        message: 'models.generate: checkpoint 120 does not exist'
      })
    ])
    expect(store.generating).toBe(false)
    expect(store.canGenerate).toBe(true)
  })
})
