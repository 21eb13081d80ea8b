/**
 * `finetune-studio train --rollouts FILE`: grpo's training rows given as rollouts. The flag is refused
 * with any other recipe and beside --data; grpo refuses rows that are not rollouts, naming the file
 * and the line; a short run on stories260K trains from the rollouts.
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { STORIES_260K, tempDir } from '../helpers/temp'
import { writeJsonl } from '../engine/train/invented-stories'
import { runCaptured as cli } from './captured-cli'

describe('train --rollouts', () => {
  const temp = tempDir('fs-cli-rollouts-')
  afterAll(() => temp.cleanup())
  const store = join(temp.dir, 'store')
  const rollouts = writeJsonl(
    join(temp.dir, 'rollouts.jsonl'),
    [0, 1].flatMap((group) =>
      [1, 0].map((reward, i) => ({
        prompt_ids: [1, 403 + group],
        completion_ids: [300 + i, 301 + i, 2],
        reward,
        group
      }))
    )
  )
  const plain = writeJsonl(join(temp.dir, 'plain.jsonl'), [
    { prompt: 'Once upon a time', completion: ' there was a dog.' },
    { prompt: 'Once upon a time', completion: ' there was a cat.' }
  ])
  const base = (out: string) => [
    'train',
    '--model',
    STORIES_260K,
    '--out',
    join(temp.dir, out),
    '--store',
    store
  ]
  const grpo = ['--recipe', 'grpo', '--recipe-param', 'group_size=2', '--batch-size', '2', '--max-steps', '2']

  it.each([
    [
      ['--rollouts', rollouts],
      '--rollouts is for reinforcement learning, which only --recipe grpo does (got --recipe sft)'
    ],
    [
      [...grpo, '--rollouts', rollouts, '--data', plain],
      '--rollouts trains on given completions and rewards: give it without --data and --rewards'
    ],
    [
      grpo,
      'give --rollouts FILE (given completions), or --data PROMPTS with --rewards SPEC (the model answers)'
    ],
    [['--recipe', 'dpo'], '--data is required']
  ])('refuses %j with one line naming the flag', async (extra, message) => {
    const { code, errLines } = await cli([...base('never'), ...extra])
    expect(code).toBe(2)
    expect(errLines[0]).toContain(message)
  })

  it('grpo refuses rows that are not rollouts, naming the file and the line', async () => {
    const { code, err } = await cli([...base('plain'), ...grpo, '--data', plain])
    expect(code).not.toBe(0)
    expect(err).toContain(
      `${plain}: grpo: line 1 is not a rollout row; grpo trains on rows {"prompt_ids", "completion_ids", "reward", "group"}`
    )
  })

  it('trains grpo from the rollouts to the end', async () => {
    const { code, out } = await cli([...base('grpo'), ...grpo, '--rollouts', rollouts, '--json'])
    expect(code).toBe(0)
    const summary = JSON.parse(out)
    expect(summary.status).toBe('completed')
    expect(summary.totalSteps).toBe(2)
  }, 60_000)
})
