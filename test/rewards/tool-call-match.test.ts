/**
 * tool_call_match against ToolRL's reward (arXiv:2504.13958 §3): R_format ∈ {0, 1} plus
 * R_correct = 6 · R_max / S_max − 3, worked by hand for each case below.
 */
import { describe, expect, it } from 'vitest'
import { correctnessReward, parseToolCalls } from '../../src-main/rewards/tool-call-match'
import { scoreOne } from './score-one'

const weather = { name: 'get_weather', parameters: { city: 'Paris', unit: 'c' } }
const time = { name: 'get_time', parameters: { zone: 'CET' } }
const gold = JSON.stringify([weather])

function completion(calls: unknown[], think = '<think>The user wants the weather.</think>\n'): string {
  return `${think}<tool_call>\n${calls.map((call) => JSON.stringify(call)).join('\n')}\n</tool_call>`
}

describe('tool_call_match', () => {
  it('gives 4 (format 1 + correctness 3) for the gold calls in the right format', async () => {
    expect(await scoreOne('tool_call_match', { completion: completion([weather]), reference: gold })).toEqual(
      {
        value: 4,
        reason: 'format 1'
      }
    )
  })

  it('scores names, parameter names and values by ToolRL’s formula (S_max = 1 + |G| + Σ params)', async () => {
    // S_max = 1 + 1 + 2 = 4. One value wrong: r_name 1, r_param 1, r_value 1 → 6·3/4 − 3 = 1.5.
    const wrongUnit = { name: 'get_weather', parameters: { city: 'Paris', unit: 'f' } }
    expect(
      (await scoreOne('tool_call_match', { completion: completion([wrongUnit]), reference: gold })).value
    ).toBe(2.5)
    // An extra parameter: r_param = 2/3, both gold values right → 6·(1 + 2/3 + 2)/4 − 3 = 2.5.
    const extra = { name: 'get_weather', arguments: { city: 'Paris', unit: 'c', lang: 'fr' } }
    expect(
      (await scoreOne('tool_call_match', { completion: completion([extra]), reference: gold })).value
    ).toBeCloseTo(3.5, 12)
    // The wrong tool with the right parameters: r_name 0 → 6·3/4 − 3 = 1.5.
    const renamed = { ...weather, name: 'get_forecast' }
    expect(
      (await scoreOne('tool_call_match', { completion: completion([renamed]), reference: gold })).value
    ).toBe(2.5)
  })

  it('matches several calls whatever their order, and counts a missing call against the maximum', () => {
    expect(correctnessReward([weather, time], [time, weather])).toBe(3)
    // S_max = 1 + 2 + 3 = 6; only the weather call: r_name 1/2, pair 1 + 2 → 6·3.5/6 − 3 = 0.5.
    expect(correctnessReward([weather, time], [weather])).toBeCloseTo(0.5, 12)
    expect(correctnessReward([weather], [])).toBe(-3)
  })

  it('gives −3 to a completion without calls, as ToolRL does (no parseable call is P = ∅)', async () => {
    expect(
      (await scoreOne('tool_call_match', { completion: 'It is sunny in Paris.', reference: gold })).value
    ).toBe(-3)
    const broken = '<think>x</think>\n<tool_call>\n{"name": "get_weather", \n</tool_call>'
    expect(await scoreOne('tool_call_match', { completion: broken, reference: gold })).toEqual({
      value: -3,
      reason: 'the tool-call block is not JSON calls'
    })
  })

  it('takes format 0 where the reasoning block is missing, and 4 for calling nothing when the gold calls nothing', async () => {
    const noThink = completion([weather], '')
    expect((await scoreOne('tool_call_match', { completion: noThink, reference: gold })).value).toBe(3)
    expect(
      (await scoreOne('tool_call_match', { completion: '<think>Just chat.</think> Hello!', reference: '[]' }))
        .value
    ).toBe(4)
    expect(
      (await scoreOne('tool_call_match', { completion: completion([weather]), reference: '[]' })).value
    ).toBe(-3)
  })

  it('reads the gold as a tool-call block too, and says when the gold is no list of calls', async () => {
    expect(
      (
        await scoreOne('tool_call_match', {
          completion: completion([weather]),
          reference: completion([weather])
        })
      ).value
    ).toBe(4)
    expect(
      await scoreOne('tool_call_match', { completion: completion([weather]), reference: 'sunny' })
    ).toEqual({
      value: 0,
      reason: 'the gold answer is not a list of tool calls'
    })
  })

  it('parses calls as one JSON array, one object or one object per line; refuses anything else', () => {
    expect(parseToolCalls(JSON.stringify([weather, time]))).toEqual([weather, time])
    expect(parseToolCalls(JSON.stringify(time))).toEqual([time])
    expect(parseToolCalls(`${JSON.stringify(weather)}\n${JSON.stringify(time)}`)).toEqual([weather, time])
    expect(parseToolCalls('{"name": 3}')).toBeNull()
    expect(parseToolCalls('[{"parameters": {}}]')).toBeNull()
  })
})
