/**
 * `finetune-studio train --eval-tasks`: benchmarks during a run the command trains in a store,
 * waited for and reported at the end; refused without a store (nowhere to keep the results) and
 * for a task that cannot be read, before anything trains.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src-main/store'
import { trainingStories, writeJsonl } from '../engine/train/invented-stories'
import { STORIES_260K, tempDir } from '../helpers/temp'
import { runCaptured as cli } from './captured-cli'

describe('finetune-studio train --eval-tasks', () => {
  const temp = tempDir('fs-cli-train-benchmarks-')
  const store = join(temp.dir, 'store')
  let data: string
  beforeAll(() => {
    data = writeJsonl(join(temp.dir, 'train.jsonl'), trainingStories())
  })
  afterAll(() => temp.cleanup())
  const train = (out: string, ...extra: string[]) =>
    cli([
      'train',
      ...['--model', STORIES_260K, '--data', data, '--out', join(temp.dir, out)],
      ...['--lr', '0.01', '--batch-size', '4', '--max-steps', '6'],
      ...extra
    ])

  it('is refused without a store, saying where the results would go', async () => {
    const home = process.env.FINETUNE_STUDIO_HOME
    delete process.env.FINETUNE_STUDIO_HOME
    try {
      const { code, errLines } = await train('no-store', '--eval-tasks', 'arc_easy')
      expect(code).toBe(2)
      expect(errLines[0]).toMatch(
        /^finetune-studio train: --eval-tasks stores its results .* give --store DIR/
      )
    } finally {
      if (home !== undefined) process.env.FINETUNE_STUDIO_HOME = home
    }
    expect(existsSync(join(temp.dir, 'no-store'))).toBe(false)
  })

  it.each([
    [['--eval-tasks', 'arc_easy', '--eval-limit', '0'], '--eval-limit must be a whole number ≥ 1, got 0'],
    [['--eval-tasks', 'a,b,c,d,e,f,g,h,i'], '--eval-tasks: '],
    [['--eval-tasks', 'no_such_task'], 'task "no_such_task" is neither a built-in task nor an existing file']
  ])('refuses %j before training', async (extra, message) => {
    const { code, errLines } = await train('refused', '--store', store, ...extra)
    expect(code).not.toBe(0)
    expect(errLines.join('\n')).toContain(message)
    expect(existsSync(join(temp.dir, 'refused'))).toBe(false)
  })

  it('benchmarks every N-th checkpoint and the last, and reports them once they are done', async () => {
    const { code, out } = await train(
      'benchmarked',
      ...['--store', store, '--json'],
      ...['--eval-tasks', 'arc_easy', '--eval-every', '4', '--eval-limit', '2']
    )
    expect(code).toBe(0)
    const summary = JSON.parse(out) as {
      runId: number
      benchmarks: { step: number; task: string; status: string; metric: string; value: number }[]
    }
    expect(summary.benchmarks.map(({ step, task, status, metric }) => [step, task, status, metric])).toEqual([
      [4, 'arc_easy', 'completed', 'acc,none'],
      [6, 'arc_easy', 'completed', 'acc,none']
    ])
    const opened = openStore(store)
    try {
      expect(opened.runs.metrics(summary.runId, { name: 'eval/arc_easy/acc,none' })).toEqual(
        summary.benchmarks.map(({ step, value }) => ({ step, name: 'eval/arc_easy/acc,none', value }))
      )
    } finally {
      opened.close()
    }
  }, 180_000)
})
