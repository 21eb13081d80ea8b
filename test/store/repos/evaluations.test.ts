import { describe, expect, it } from 'vitest'
import { evalSettingsSchema, type EvalItem, type EvalSettings } from '../../../src-preload/contract'
import { StoreNotFoundError } from '../../../src-main/store/errors'
import { openTempStore, seedRunInputs } from '../helpers'

const SETTINGS: EvalSettings = evalSettingsSchema.parse({ limit: 4 })

function storeWithCheckpoint() {
  const store = openTempStore()
  const inputs = seedRunInputs(store)
  const run = store.runs.create({ name: 'r', config: {}, ...inputs })
  const checkpoint = store.runs.addCheckpoint(run.id, { step: 10, path: '/c10' })
  return { store, evaluations: store.evaluations, runId: run.id, checkpointId: checkpoint.id, ...inputs }
}

function item(index: number, correct: boolean | null, extra: Partial<EvalItem> = {}): EvalItem {
  return {
    key: String(index),
    task: 'arc_easy',
    index,
    prompt: `Question ${index}?\nAnswer:`,
    choices: ['yes', 'no'],
    logprobs: [-1.5, -0.5],
    target: 'yes',
    answer: { output: null, prediction: 1, correct },
    metrics: { 'acc,none': correct ? 1 : 0 },
    review: null,
    ...extra
  }
}

const SCORES = { 'acc,none': { value: 0.5, stderr: 0.25, higherIsBetter: true } }

describe('evaluations repository', () => {
  it('creates a queued evaluation of a checkpoint with its step, label, task file and settings', () => {
    const { evaluations, runId, checkpointId } = storeWithCheckpoint()
    const created = evaluations.create({
      name: 'arc_easy: r @ step 10',
      task: 'arc_easy',
      kind: 'task',
      targetKey: 'key:r @ step 10',
      targetLabel: 'r @ step 10',
      runId,
      checkpointId,
      taskFile: '/tasks/arc_easy.yaml',
      taskHash: 'abc',
      reuseKey: 'key-1',
      settings: SETTINGS,
      ownerPid: process.pid
    })
    expect(created).toMatchObject({
      task: 'arc_easy',
      kind: 'task',
      status: 'queued',
      step: 10,
      targetKey: 'key:r @ step 10',
      targetLabel: 'r @ step 10',
      taskFile: '/tasks/arc_easy.yaml',
      taskHash: 'abc',
      settings: SETTINGS,
      scores: {},
      primaryMetric: null,
      itemCount: 0
    })
  })

  it('completes with items, scores and status at once; items keep their order and answers', () => {
    const { evaluations, baseModelId } = storeWithCheckpoint()
    const { id } = evaluations.create({
      name: 'e',
      task: 'arc_easy',
      kind: 'task',
      targetKey: 'key:m',
      targetLabel: 'm',
      baseModelId
    })
    const generated = item(2, true, {
      choices: null,
      logprobs: null,
      answer: { output: 'The answer is yes', prediction: 'yes', correct: true },
      review: { output: 'Still yes', prediction: 'yes', correct: true }
    })
    const done = evaluations.complete(id, {
      scores: SCORES,
      primaryMetric: 'acc,none',
      items: [item(0, true), item(1, false), generated]
    })
    expect(done).toMatchObject({
      status: 'completed',
      scores: SCORES,
      primaryMetric: 'acc,none',
      itemCount: 3
    })
    expect(done.finishedAt).not.toBeNull()

    const all = evaluations.items(id)
    expect(all.total).toBe(3)
    expect(all.items.map((i) => i.key)).toEqual(['0', '1', '2'])
    expect(all.items[0]).toEqual(item(0, true))
    expect(all.items[2]).toEqual(generated)
    expect(evaluations.items(id, 'wrong')).toEqual({ total: 1, items: [item(1, false)] })
    expect(evaluations.items(id, 'correct', { limit: 1, offset: 1 })).toEqual({
      total: 2,
      items: [generated]
    })
  })

  it('finds the newest completed evaluation by reuse key, never one that is not completed', () => {
    const { evaluations, baseModelId } = storeWithCheckpoint()
    const base = {
      name: 'e',
      task: 't',
      kind: 'task' as const,
      targetKey: 'key:m',
      targetLabel: 'm',
      baseModelId,
      reuseKey: 'k'
    }
    const older = evaluations.create(base)
    evaluations.complete(older.id, { scores: SCORES, primaryMetric: 'acc,none', items: [] })
    const newer = evaluations.create(base)
    evaluations.complete(newer.id, { scores: SCORES, primaryMetric: 'acc,none', items: [] })
    evaluations.create(base) // queued
    expect(evaluations.reusable('k')?.id).toBe(newer.id)
    expect(evaluations.reusable('other')).toBeNull()
  })

  it('interrupts unfinished evaluations of dead processes only', () => {
    const { evaluations, baseModelId } = storeWithCheckpoint()
    const base = {
      name: 'e',
      task: 't',
      kind: 'task' as const,
      targetKey: 'key:m',
      targetLabel: 'm',
      baseModelId
    }
    const mine = evaluations.create({ ...base, ownerPid: 100 })
    const dead = evaluations.create({ ...base, ownerPid: 200 })
    const running = evaluations.create({ ...base, ownerPid: 200 })
    evaluations.setStatus(running.id, 'running')
    expect(evaluations.interruptOrphans((pid) => pid === 100)).toEqual([dead.id, running.id])
    expect(evaluations.get(mine.id)?.status).toBe('queued')
    expect(evaluations.get(dead.id)).toMatchObject({
      status: 'interrupted',
      error: 'the process evaluating it ended'
    })
  })

  it('lists newest first, by run and by task; deleting a run deletes its evaluations', () => {
    const { store, evaluations, runId, checkpointId, baseModelId } = storeWithCheckpoint()
    const a = evaluations.create({
      name: 'a',
      task: 'x',
      kind: 'task',
      targetKey: 'key:m',
      targetLabel: 'm',
      baseModelId
    })
    const b = evaluations.create({
      name: 'b',
      task: 'y',
      kind: 'task',
      targetKey: 'key:r',
      targetLabel: 'r',
      runId,
      checkpointId
    })
    expect(evaluations.list().map((e) => e.id)).toEqual([b.id, a.id])
    expect(evaluations.list({ runId }).map((e) => e.id)).toEqual([b.id])
    expect(evaluations.list({ task: 'x' }).map((e) => e.id)).toEqual([a.id])
    store.db.prepare('DELETE FROM runs WHERE id = ?').run(runId)
    expect(evaluations.list().map((e) => e.id)).toEqual([a.id])
  })

  it('refuses to complete or page an evaluation that does not exist', () => {
    const { evaluations } = storeWithCheckpoint()
    expect(() => evaluations.complete(99, { scores: {}, primaryMetric: null, items: [] })).toThrow(
      StoreNotFoundError
    )
    expect(() => evaluations.items(99)).toThrow(/no evaluation with id 99/)
  })
})
