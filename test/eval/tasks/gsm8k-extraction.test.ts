import { beforeAll, describe, expect, it } from 'vitest'
import { scoreDoc, type EvalDocRequest, type LoadedTask } from '../../../src-main/eval/tasks'
import { loadBuiltinTask } from './helpers'

/**
 * GSM8K's answer extraction and exact match, through the built-in gsm8k task file (lm-eval's
 * `strict-match` and `flexible-extract` pipelines and its exact_match options). Each row's
 * expected values are what lm-eval's regexes give in Python's `re` (checked with CPython 3.11):
 * [model output, target, strict answer, strict exact match, flexible answer, flexible exact match].
 */
const TABLE: [string, string, string, number, string, number][] = [
  ['Janet sells 16 - 3 - 4 = 9 eggs.\nShe makes 9 * 2 = $18.\n#### 18', 'A.\n#### 18', '18', 1, '18', 1],
  ['She makes $18 every day.', 'A.\n#### 18', '[invalid]', 0, '$18', 1],
  ['The answer is 18.', 'A.\n#### 18', '[invalid]', 0, '18.', 1],
  ['#### 18.', 'A.\n#### 18', '18.', 1, '18.', 1],
  ['#### $18', 'A.\n#### 18', '[invalid]', 0, '$18', 1],
  ['#### 1,800', 'A.\n#### 1800', '1,800', 1, '1,800', 1],
  ['The total is 1,800 dollars. #### 1800', 'A.\n#### 1800', '1800', 1, '1800', 1],
  ['#### -5', 'A.\n#### -5', '-5', 1, '-5', 1],
  ['First 3 then 7.\n#### 10\n\nQuestion: what about 5?', 'A.\n#### 10', '10', 1, '5', 0],
  ["I don't know.", 'A.\n#### 18', '[invalid]', 0, '[invalid]', 0],
  ['Answer: 18 apples, or maybe 20', 'A.\n#### 18', '[invalid]', 0, '20', 0],
  ['x = 3.5', 'A.\n#### 3.5', '[invalid]', 0, '3.5', 1],
  ['#### 18 and then #### 19', 'A.\n#### 18', '18', 1, '19', 0],
  ['It costs $.50', 'A.\n#### .50', '[invalid]', 0, '$.50', 1],
  ['The result is -12.', 'A.\n#### -12', '[invalid]', 0, '-12.', 1],
  ['####18', 'A.\n#### 18', '[invalid]', 0, '18', 1],
  ['#### 0.5', 'A.\n#### 0.5', '0.5', 1, '0.5', 1]
]

function request(target: string): EvalDocRequest {
  return {
    index: 0,
    doc: { question: 'q', answer: target },
    prompt: 'Question: q\nAnswer:',
    fewshot: [],
    target,
    request: {
      type: 'generate_until',
      context: '',
      until: [],
      maxGenToks: 1,
      doSample: false,
      temperature: 0
    }
  }
}

describe('GSM8K answer extraction and exact match (lm-eval gsm8k)', () => {
  let task: LoadedTask
  beforeAll(async () => {
    task = await loadBuiltinTask('gsm8k')
  })

  it('the built-in task has the strict-match and flexible-extract pipelines', () => {
    expect(task.config.filters.map((f) => f.name)).toEqual(['strict-match', 'flexible-extract'])
  })

  it.each(TABLE)('%j (target %j)', (output, target, strict, strictMatch, flexible, flexibleMatch) => {
    const score = scoreDoc(task, request(target), { type: 'generate_until', text: output })
    expect(score.results).toEqual([
      { filter: 'strict-match', prediction: strict, metrics: { exact_match: strictMatch } },
      { filter: 'flexible-extract', prediction: flexible, metrics: { exact_match: flexibleMatch } }
    ])
    expect(score.correct).toBe(strictMatch === 1)
  })
})
