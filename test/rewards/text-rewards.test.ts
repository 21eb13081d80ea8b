/**
 * The rewards that read text alone: each on its right answer, its wrong answers and the completions
 * it cannot read (a defined 0 with a reason).
 */
import { describe, expect, it } from 'vitest'
import { extractAnswer, parseNumber } from '../../src-main/rewards/numeric-match'
import { scoreOne } from './score-one'

describe('exact_match', () => {
  it('compares after trimming by default, case and whitespace runs only when asked', async () => {
    expect(await scoreOne('exact_match', { completion: '  Paris\n', reference: 'Paris' })).toEqual({
      value: 1
    })
    expect((await scoreOne('exact_match', { completion: 'paris', reference: 'Paris' })).value).toBe(0)
    expect(
      (await scoreOne('exact_match', { completion: 'paris', reference: 'Paris' }, { ignore_case: true }))
        .value
    ).toBe(1)
    expect((await scoreOne('exact_match', { completion: 'New  York', reference: 'New York' })).value).toBe(0)
    const collapsed = await scoreOne(
      'exact_match',
      { completion: 'New \n York', reference: 'New York' },
      { collapse_whitespace: true }
    )
    expect(collapsed.value).toBe(1)
    expect(
      (await scoreOne('exact_match', { completion: ' Paris', reference: 'Paris' }, { trim: 'false' })).value
    ).toBe(0)
  })

  it('reads the gold from a metadata key when asked, and says when there is none', async () => {
    const row = { completion: '42', metadata: { answer: 42 } }
    expect((await scoreOne('exact_match', row, { reference_key: 'answer' })).value).toBe(1)
    expect(await scoreOne('exact_match', { completion: '42' })).toEqual({
      value: 0,
      reason: 'the row has no reference'
    })
    expect(await scoreOne('exact_match', row, { reference_key: 'gold' })).toEqual({
      value: 0,
      reason: 'metadata has no key "gold"'
    })
  })
})

describe('numeric_match', () => {
  it('reads signs, thousands commas, decimals, fractions, $ and %', () => {
    expect(parseNumber('1,234')).toBe(1234)
    expect(parseNumber('-3.50')).toBe(-3.5)
    expect(parseNumber('−7')).toBe(-7)
    expect(parseNumber('3/4')).toBe(0.75)
    expect(parseNumber('\\frac{3}{4}')).toBe(0.75)
    expect(parseNumber('-\\dfrac{1}{2}')).toBe(-0.5)
    expect(parseNumber('$18')).toBe(18)
    expect(parseNumber('50\\%')).toBe(50)
    expect(parseNumber('1e-3')).toBe(0.001)
    expect(parseNumber('1/0')).toBeNull()
    expect(parseNumber('\\sqrt{2}')).toBeNull()
    expect(parseNumber('12,34')).toBeNull()
  })

  it('extracts from the last box, after ####, or the last number', () => {
    const text = 'First 3 apples, then \\boxed{5}. #### 7 and finally 9'
    expect(extractAnswer(text, 'boxed')).toBe('5')
    expect(extractAnswer(text, 'hashes')).toBe('7')
    expect(extractAnswer('so #### 1,000\nthen 4', 'hashes')).toBe('1,000')
    expect(extractAnswer(text, 'last')).toBe('9')
    expect(extractAnswer(text, 'auto')).toBe('5')
    expect(extractAnswer('no box; #### 12', 'auto')).toBe('12')
    expect(extractAnswer('it costs $1,250.50 in total', 'auto')).toBe('$1,250.50')
  })

  it('matches within the tolerance against a gold written the GSM8K way', async () => {
    const reference = 'She has 6 + 12 = 18 eggs.\n#### 18'
    expect(await scoreOne('numeric_match', { completion: 'The answer is 18.', reference })).toEqual({
      value: 1
    })
    expect(await scoreOne('numeric_match', { completion: 'The answer is 18.0', reference })).toEqual({
      value: 1
    })
    expect(await scoreOne('numeric_match', { completion: '\\boxed{\\frac{36}{2}}', reference })).toEqual({
      value: 1
    })
    expect(await scoreOne('numeric_match', { completion: 'I think 17', reference })).toEqual({
      value: 0,
      reason: '17 is not 18'
    })
    const near = { completion: '18.01', reference: '18' }
    expect((await scoreOne('numeric_match', near)).value).toBe(0)
    expect((await scoreOne('numeric_match', near, { absolute_tolerance: 0.05 })).value).toBe(1)
    expect((await scoreOne('numeric_match', near, { relative_tolerance: 0.001 })).value).toBe(1)
  })

  it('gives 0 with a reason for a completion or gold without a number', async () => {
    expect(await scoreOne('numeric_match', { completion: 'no idea', reference: '4' })).toEqual({
      value: 0,
      reason: 'no number found (extract: auto)'
    })
    expect(await scoreOne('numeric_match', { completion: '4', reference: 'four' })).toEqual({
      value: 0,
      reason: 'the gold answer "four" is not a number'
    })
    expect(
      (await scoreOne('numeric_match', { completion: '4 and 4', reference: '4' }, { extract: 'boxed' })).value
    ).toBe(0)
  })
})

describe('regex_match', () => {
  it('finds the pattern anywhere, or requires the whole completion to match', async () => {
    const completion = 'The answer is 42.'
    expect((await scoreOne('regex_match', { completion }, { pattern: '\\d+' })).value).toBe(1)
    expect((await scoreOne('regex_match', { completion }, { pattern: '\\d+', mode: 'full' })).value).toBe(0)
    expect(
      (await scoreOne('regex_match', { completion }, { pattern: '(?i)the answer is \\d+\\.', mode: 'full' }))
        .value
    ).toBe(1)
    expect(await scoreOne('regex_match', { completion }, { pattern: 'x{3}' })).toEqual({
      value: 0,
      reason: 'no match'
    })
  })

  it('refuses a pattern RE2 cannot run (no backtracking engine ever sees it)', async () => {
    await expect(scoreOne('regex_match', { completion: 'aa' }, { pattern: '(a)\\1' })).rejects.toThrow(
      /^rewards: term 0 \(regex_match\): parameter pattern: "\(a\)\\\\1" is refused/
    )
    await expect(scoreOne('regex_match', { completion: 'a' }, { pattern: '' })).rejects.toThrow(
      /the pattern is empty/
    )
  })

  it('runs a pattern that backtracks catastrophically in JavaScript in linear time', async () => {
    const started = performance.now()
    const result = await scoreOne(
      'regex_match',
      { completion: `${'a'.repeat(50_000)}!` },
      { pattern: '(a+)+$', mode: 'full' }
    )
    expect(result.value).toBe(0)
    expect(performance.now() - started).toBeLessThan(2000)
  })
})

describe('format_check', () => {
  it('gives 1 for a think block then a non-empty answer block and nothing else', async () => {
    expect(
      await scoreOne('format_check', { completion: '<think>2+2</think>\n<answer>4</answer>\n' })
    ).toEqual({ value: 1 })
    expect(
      (
        await scoreOne(
          'format_check',
          { completion: '<reason>x</reason><final>4</final>' },
          { think_tag: 'reason', answer_tag: 'final' }
        )
      ).value
    ).toBe(1)
    expect(
      (await scoreOne('format_check', { completion: '<answer>4</answer>' }, { think_tag: '' })).value
    ).toBe(1)
  })

  it('gives 0 with the reason for each way the format is broken', async () => {
    const cases: [string, string][] = [
      ['4', 'does not start with <think>'],
      ['<think>hm', '<think> is never closed'],
      ['<think>a<think>b</think><answer>4</answer>', '<think> opens twice'],
      ['<think>a</think> so 4', 'after </think>: does not start with <answer>'],
      ['<think>a</think><answer> </answer>', 'the answer block is empty'],
      ['<think>a</think><answer>4</answer> done', 'text follows </answer>'],
      ['Sure! <think>a</think><answer>4</answer>', 'does not start with <think>']
    ]
    for (const [completion, reason] of cases) {
      expect(await scoreOne('format_check', { completion }), completion).toEqual({ value: 0, reason })
    }
  })

  it('refuses a tag name that is not one', async () => {
    await expect(scoreOne('format_check', { completion: '' }, { answer_tag: 'a>' })).rejects.toThrow(
      /term 0 \(format_check\): parameter answer_tag/
    )
  })
})

describe('contains_all', () => {
  it('gives the share of the required words mentioned, whole word and case-insensitive, as story-requests scores', async () => {
    const metadata = { name: 'Lily', animal: 'fish' }
    const both = 'Once upon a time, lily the Fish swam.'
    expect(await scoreOne('contains_all', { completion: both, metadata })).toEqual({ value: 1 })
    expect(await scoreOne('contains_all', { completion: 'Lily ate a fishcake.', metadata })).toEqual({
      value: 0.5,
      reason: 'does not mention fish'
    })
    expect((await scoreOne('contains_all', { completion: 'A story.', metadata })).value).toBe(0)
  })

  it('reads lists and other keys, and gives 0 with a reason when a key is missing', async () => {
    const metadata = { words: ['red', 'blue', 'green', 'tea'] }
    expect(
      (await scoreOne('contains_all', { completion: 'red and blue', metadata }, { keys: 'words' })).value
    ).toBe(0.5)
    expect(await scoreOne('contains_all', { completion: 'Lily', metadata: { name: 'Lily' } })).toEqual({
      value: 0,
      reason: 'metadata "animal" is missing or not text'
    })
  })
})

describe('length_penalty', () => {
  it('is DAPO’s soft overlong punishment: 0, then linear to −1 at max_length, −1 beyond', async () => {
    const params = { max_length: 20, cache_length: 10 }
    const at = async (length: number) =>
      (await scoreOne('length_penalty', { completion: 'x'.repeat(length) }, params)).value
    expect(await at(0)).toBe(0)
    expect(await at(10)).toBe(0)
    expect(await at(11)).toBeCloseTo(-0.1, 12)
    expect(await at(15)).toBeCloseTo(-0.5, 12)
    expect(await at(20)).toBe(-1)
    expect(await at(500)).toBe(-1)
  })

  it('reads tokens when the row counts them, else characters (code points), and says which', async () => {
    const params = { max_length: 20, cache_length: 10 }
    expect(await scoreOne('length_penalty', { completion: 'short', completionTokens: 15 }, params)).toEqual({
      value: -0.5,
      reason: '15 tokens'
    })
    expect(await scoreOne('length_penalty', { completion: '🙂'.repeat(12) }, params)).toEqual({
      value: expect.closeTo(-0.2, 12),
      reason: '12 characters'
    })
  })

  it('refuses a cache longer than the limit', async () => {
    await expect(
      scoreOne('length_penalty', { completion: '' }, { max_length: 5, cache_length: 10 })
    ).rejects.toThrow(
      'rewards: term 0 (length_penalty): parameter cache_length (10) must be ≤ max_length (5)'
    )
  })
})

describe('benchmark_metric', () => {
  it('scores as GSM8K’s strict-match and flexible-extract exact_match do', async () => {
    const reference = 'Janet sells 16 - 3 - 4 = 9 eggs.\n#### 9'
    expect(
      (await scoreOne('benchmark_metric', { completion: 'So she sells 9.\n#### 9', reference })).value
    ).toBe(1)
    expect(await scoreOne('benchmark_metric', { completion: 'So she sells 9.', reference })).toEqual({
      value: 0,
      reason: 'strict-match extracted "[invalid]"'
    })
    const flexible = { filter: 'flexible-extract' }
    expect(
      (await scoreOne('benchmark_metric', { completion: 'So she sells 9.', reference }, flexible)).value
    ).toBe(1)
  })

  it('scores story-requests with mentions_all from the row’s metadata', async () => {
    const metadata = { name: 'Tom', animal: 'fox' }
    const params = { task: 'story-requests' }
    expect(
      (await scoreOne('benchmark_metric', { completion: 'Tom the fox ran.', metadata }, params)).value
    ).toBe(1)
    expect((await scoreOne('benchmark_metric', { completion: 'Tom ran.', metadata }, params)).value).toBe(0)
  })

  it('refuses a task that is not built in or scores no generations, and a filter or metric it lacks', async () => {
    await expect(scoreOne('benchmark_metric', { completion: '' }, { task: 'nope' })).rejects.toThrow(
      /parameter task: "nope" is refused: no built-in benchmark is called "nope"/
    )
    await expect(scoreOne('benchmark_metric', { completion: '' }, { task: 'arc_easy' })).rejects.toThrow(
      /term 0 \(benchmark_metric\): parameter task: arc_easy scores log-likelihoods/
    )
    await expect(scoreOne('benchmark_metric', { completion: '' }, { filter: 'loose' })).rejects.toThrow(
      'rewards: term 0 (benchmark_metric): parameter filter: gsm8k has no filter "loose"; it has strict-match, flexible-extract'
    )
  })
})
