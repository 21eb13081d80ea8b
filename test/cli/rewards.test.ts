import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { rewardInfo } from '../../src-main/api/rewards'
import { listRewards } from '../../src-main/rewards'
import { tempDir } from '../helpers/temp'
import { runCaptured } from './captured-cli'
import { writeFileSync } from 'node:fs'

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'rewards')
const spec = join(FIXTURES, 'spec.json')
const rows = join(FIXTURES, 'rows.jsonl')

describe('finetune-studio rewards', () => {
  it('lists the rewards with their descriptions, papers and parameters', async () => {
    const { code, out } = await runCaptured(['rewards', 'list'])
    expect(code).toBe(0)
    expect(out).toMatch(/^exact_match — Exact match\n {2}1 when the completion equals/)
    expect(out).toContain('tool_call_match — Tool-call match (ToolRL)\n')
    expect(out).toContain('  Cheng Qian et al. (2025), https://arxiv.org/abs/2504.13958\n')
    expect(out).toContain(
      '  extract (one of auto | boxed | hashes | last, default auto): where the answer is'
    )
  })

  it('prints what rewards.list gives with --json', async () => {
    const { code, out } = await runCaptured(['rewards', 'list', '--json'])
    expect(code).toBe(0)
    expect(JSON.parse(out)).toEqual(listRewards().map(rewardInfo))
  })

  it('scores rows with a spec: a total and a table of terms per row', async () => {
    const { code, out } = await runCaptured(['rewards', 'score', '--spec', spec, '--data', rows])
    expect(code).toBe(0)
    const [first, second] = out.split('\n\n')
    expect(first.split('\n')).toEqual([
      'row 1: total 1.7500',
      '  REWARD         WEIGHT  VALUE  REASON',
      '  format_check   0.5000  1',
      '  numeric_match  1       1',
      '  contains_all   0.2500  1'
    ])
    expect(second.split('\n')[0]).toBe('row 2: total 0.1250')
    expect(second).toMatch(/ {2}contains_all +0\.2500 +0\.5000 +does not mention fish/)
  })

  it('prints the scores as JSON with --json', async () => {
    const { code, out } = await runCaptured(['rewards', 'score', '--spec', spec, '--data', rows, '--json'])
    expect(code).toBe(0)
    const scores = JSON.parse(out) as { total: number }[]
    expect(scores.map((score) => score.total)).toEqual([1.75, 0.125])
  })

  it('names the file, line and field of a bad row, and the term of a bad spec', async () => {
    const temp = tempDir('fs-rewards-cli-')
    try {
      const badRows = join(temp.dir, 'rows.jsonl')
      writeFileSync(badRows, '{"prompt": "p", "completion": "c"}\n{"prompt": "p", "completion": 3}\n')
      const row = await runCaptured(['rewards', 'score', '--spec', spec, '--data', badRows])
      expect(row.code).toBe(1)
      expect(row.errLines[0]).toMatch(
        new RegExp(`^finetune-studio rewards score: ${badRows}, line 2: completion: .*expected string`)
      )
      const badSpec = join(temp.dir, 'spec.json')
      writeFileSync(
        badSpec,
        JSON.stringify({ terms: [{ reward: 'numeric_match', weight: 1, params: { extract: 'x' } }] })
      )
      const term = await runCaptured(['rewards', 'score', '--spec', badSpec, '--data', rows])
      expect(term.code).toBe(1)
      expect(term.errLines[0]).toBe(
        `finetune-studio rewards score: --spec ${badSpec}: rewards: term 0 (numeric_match): parameter extract must be one of auto, boxed, hashes, last, got "x"`
      )
      const missing = await runCaptured(['rewards', 'score', '--data', rows])
      expect(missing.code).toBe(2)
      expect(missing.errLines[0]).toBe('finetune-studio rewards score: --spec FILE is required')
    } finally {
      temp.cleanup()
    }
  })
})
