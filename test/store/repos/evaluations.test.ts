import { describe, expect, it } from 'vitest'
import { StoreNotFoundError } from '../../../src-main/store/errors'
import { openTempStore, seedRunInputs } from '../helpers'

function storeWithCheckpoint() {
  const store = openTempStore()
  const inputs = seedRunInputs(store)
  const run = store.runs.create({ name: 'r', config: {}, ...inputs })
  const checkpoint = store.runs.addCheckpoint(run.id, { step: 10, path: '/c10' })
  return { store, evaluations: store.evaluations, runId: run.id, checkpointId: checkpoint.id, ...inputs }
}

describe('evaluations repository', () => {
  it('creates a queued evaluation; list returns EvaluationSummary objects newest first', () => {
    const { evaluations, runId, checkpointId, baseModelId } = storeWithCheckpoint()
    const first = evaluations.create({
      name: 'ckpt',
      benchmark: 'arith',
      runId,
      checkpointId,
      config: { shots: 0 }
    })
    const second = evaluations.create({ name: 'base', benchmark: 'arith', baseModelId })
    expect(first).toMatchObject({
      status: 'queued',
      error: null,
      config: { shots: 0 },
      metrics: {},
      finishedAt: null
    })
    expect(evaluations.list()).toEqual([
      {
        id: second.id,
        name: 'base',
        benchmark: 'arith',
        runId: null,
        checkpointId: null,
        baseModelId,
        metrics: {},
        createdAt: expect.stringMatching(/Z$/)
      },
      expect.objectContaining({ id: first.id, runId, checkpointId })
    ])
    expect(evaluations.list({ limit: 1, offset: 1 }).map((e) => e.id)).toEqual([first.id])
    expect(evaluations.get(999)).toBeNull()
  })

  it('records status, then metrics and the final status together', () => {
    const { evaluations, baseModelId } = storeWithCheckpoint()
    const evaluation = evaluations.create({ name: 'e', benchmark: 'arith', baseModelId })
    expect(evaluations.setStatus(evaluation.id, 'running').status).toBe('running')
    const done = evaluations.setResult(evaluation.id, { accuracy: 0.75 })
    expect(done).toMatchObject({
      status: 'completed',
      metrics: { accuracy: 0.75 },
      finishedAt: expect.any(String)
    })
    expect(evaluations.setStatus(evaluation.id, 'failed', 'out of memory').error).toBe('out of memory')
    expect(() => evaluations.setResult(555, {})).toThrow(StoreNotFoundError)
  })

  it('adds per-item results in batches; a repeated key replaces its result', () => {
    const { evaluations, baseModelId } = storeWithCheckpoint()
    const { id } = evaluations.create({ name: 'e', benchmark: 'arith', baseModelId })
    expect(
      evaluations.addResults(id, [
        { sampleKey: 'q1', prompt: '1+1', output: '3', expected: '2', score: 0 },
        { sampleKey: 'q2', prompt: '2+2', output: '4', expected: '4', score: 1, details: { logprob: -0.1 } }
      ])
    ).toBe(2)
    evaluations.addResults(id, [{ sampleKey: 'q1', prompt: '1+1', output: '2', expected: '2', score: 1 }])
    const results = evaluations.results(id)
    expect(results.map((r) => [r.sampleKey, r.output, r.score])).toEqual([
      ['q1', '2', 1],
      ['q2', '4', 1]
    ])
    expect(results[1]).toMatchObject({ evaluationId: id, details: { logprob: -0.1 }, expected: '4' })
    expect(evaluations.results(id, { limit: 1, offset: 1 }).map((r) => r.sampleKey)).toEqual(['q2'])
    expect(() => evaluations.addResults(808, [])).toThrow(StoreNotFoundError)
  })

  it('marks running evaluations as interrupted at startup', () => {
    const { evaluations, baseModelId } = storeWithCheckpoint()
    const running = evaluations.create({ name: 'a', benchmark: 'b', baseModelId })
    const done = evaluations.create({ name: 'c', benchmark: 'b', baseModelId })
    evaluations.setStatus(running.id, 'running')
    evaluations.setResult(done.id, { accuracy: 1 })
    expect(evaluations.markRunningAsInterrupted()).toEqual([running.id])
    expect(evaluations.get(running.id)!.status).toBe('interrupted')
    expect(evaluations.get(done.id)!.status).toBe('completed')
  })

  it('deletes an evaluation with its run, and on its own', () => {
    const { store, evaluations, runId, checkpointId, baseModelId } = storeWithCheckpoint()
    const ofRun = evaluations.create({ name: 'a', benchmark: 'b', runId, checkpointId })
    const ofBase = evaluations.create({ name: 'c', benchmark: 'b', baseModelId })
    store.runs.delete(runId)
    expect(evaluations.get(ofRun.id)).toBeNull()
    expect(evaluations.delete(ofBase.id)).toBe(true)
    expect(evaluations.list()).toEqual([])
  })
})

describe('comparisons', () => {
  it('creates, lists newest first, and records votes', () => {
    const { evaluations, baseModelId, runId } = storeWithCheckpoint()
    const a = evaluations.create({ name: 'a', benchmark: 'b', baseModelId })
    const b = evaluations.create({ name: 'b', benchmark: 'b', runId })
    const first = evaluations.createComparison({
      prompt: 'Tell a story',
      evaluationAId: a.id,
      evaluationBId: b.id,
      outputA: 'Once',
      outputB: 'Long ago'
    })
    expect(first).toEqual({
      id: first.id,
      prompt: 'Tell a story',
      evaluationAId: a.id,
      evaluationBId: b.id,
      outputA: 'Once',
      outputB: 'Long ago',
      vote: null,
      createdAt: expect.stringMatching(/Z$/)
    })
    const second = evaluations.createComparison({ prompt: 'p', outputA: 'x', outputB: 'y' })
    expect(evaluations.listComparisons().map((c) => c.id)).toEqual([second.id, first.id])
    expect(evaluations.listComparisons({ limit: 1 }).map((c) => c.id)).toEqual([second.id])

    expect(evaluations.vote(first.id, 'b')!.vote).toBe('b')
    expect(evaluations.vote(first.id, 'tie')!.vote).toBe('tie')
    expect(evaluations.getComparison(first.id)!.vote).toBe('tie')
    expect(evaluations.vote(9999, 'a')).toBeNull()
    expect(() => evaluations.vote(first.id, 'c' as never)).toThrow(/CHECK constraint failed/)
  })
})
