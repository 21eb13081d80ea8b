/**
 * The acceptance test: on a real checkpoint, every multiple-choice prediction of `eval` is
 * the argmax of the `score` command's log-probabilities of the same (context, continuation) pairs,
 * written as {"prompt": context, "completion": " " + choice}; acc_norm likewise, with each
 * log-probability divided by its choice's length in characters (lm-eval's normalisation).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { EvalItem, EvalItemPage } from '../../src-preload/contract'
import { runCaptured } from './captured-cli'
import { STORIES_260K, tempDir } from '../helpers/temp'

const QUESTIONS = 40

interface OutItem {
  index: number
  prediction: number
  correct: boolean
  logprobs: number[]
}

function argmax(values: readonly number[]): number {
  return values.reduce((best, value, i) => (value > values[best] ? i : best), 0)
}

describe('eval on ARC-Easy agrees with score on stories260K', () => {
  const dir = tempDir()
  const store = join(dir.dir, 'store')
  afterAll(() => dir.cleanup())

  it('acc and acc_norm predictions are the argmax of the score command’s log-probabilities', async () => {
    const outPath = join(dir.dir, 'arc.json')
    const evaluated = await runCaptured([
      'eval',
      '--model',
      STORIES_260K,
      '--task',
      'arc_easy',
      '--limit',
      String(QUESTIONS),
      '--out',
      outPath,
      '--store',
      store
    ])
    expect(evaluated.code, evaluated.err).toBe(0)
    const out = JSON.parse(readFileSync(outPath, 'utf8')) as {
      metrics: Record<string, { value: number }>
      items: OutItem[]
    }
    const id = /^evaluation (\d+):/.exec(evaluated.out)![1]
    const page = JSON.parse(
      (await runCaptured(['eval', 'items', id, '--json', '--limit', '1000', '--store', store])).out
    ) as EvalItemPage
    const items: EvalItem[] = page.items
    expect(items).toHaveLength(QUESTIONS)

    const pairs = items.flatMap((item) =>
      item.choices!.map((choice) => JSON.stringify({ prompt: item.prompt, completion: ` ${choice}` }))
    )
    const dataPath = join(dir.dir, 'pairs.jsonl')
    writeFileSync(dataPath, pairs.join('\n') + '\n')
    const scored = await runCaptured(['score', '--model', STORIES_260K, '--data', dataPath, '--store', store])
    expect(scored.code, scored.err).toBe(0)
    const logprobs = scored.out.split('\n').map((line) => (JSON.parse(line) as { logprob: number }).logprob)
    expect(logprobs).toHaveLength(pairs.length)

    let next = 0
    let right = 0
    let rightNorm = 0
    let largestGap = 0
    items.forEach((item, q) => {
      const choices = item.choices!
      const fromScore = logprobs.slice(next, next + choices.length)
      next += choices.length
      fromScore.forEach(
        (value, c) => (largestGap = Math.max(largestGap, Math.abs(value - item.logprobs![c])))
      )
      const target = choices.indexOf(item.target)
      expect(out.items[q].index).toBe(item.index)
      expect(out.items[q].prediction, `question ${item.index}`).toBe(argmax(fromScore))
      const normalised = argmax(fromScore.map((value, c) => value / choices[c].length))
      expect(item.metrics['acc_norm,none'], `question ${item.index}`).toBe(normalised === target ? 1 : 0)
      if (argmax(fromScore) === target) right++
      if (normalised === target) rightNorm++
    })
    // The same tokens scored by two engine paths (cached context vs whole rows) in float32.
    expect(largestGap).toBeLessThan(1e-3)
    expect(out.metrics['acc,none'].value).toBeCloseTo(right / QUESTIONS, 12)
    expect(out.metrics['acc_norm,none'].value).toBeCloseTo(rightNorm / QUESTIONS, 12)
    console.info(
      `eval vs score: ${QUESTIONS} questions, ${pairs.length} (context, choice) pairs, max |Δlogprob| ${largestGap.toExponential(2)}`
    )
  })
})
