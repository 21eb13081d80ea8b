import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseModelConfig } from '../../../src-main/engine/checkpoint/hf-config'
import { contextLimit } from '../../../src-main/engine/infer/model-session'
import { readScoreRows } from '../../../src-main/engine/infer/score-rows'
import { Scorer } from '../../../src-main/engine/infer/scoring'
import { IGNORE_INDEX } from '../../../src-main/engine/tokenizer/labels'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { STORIES_260K, tempDir } from '../../helpers/temp'

const LIMITS = { vocabSize: 512, maxPositions: 512 }

describe('score rows', () => {
  const dir = tempDir()
  afterAll(() => dir.cleanup())
  const tokenizer = () => loadTokenizer(STORIES_260K)

  function rowsOf(...lines: string[]) {
    const path = join(dir.dir, 'rows.jsonl')
    writeFileSync(path, lines.join('\n'))
    return { path, read: () => readScoreRows(path, tokenizer, LIMITS) }
  }

  it('reads the three row forms, skipping blank lines', () => {
    const { read } = rowsOf(
      '{"input_ids": [1, 5, 6], "labels": [-100, -100, 6]}',
      '',
      '{"input_ids": [1, 5, 6]}',
      '{"prompt": "Once upon a time", "completion": " there was a cat."}',
      '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}'
    )
    const rows = read()
    expect(rows).toHaveLength(4)
    expect(rows[0]).toEqual({ inputIds: [1, 5, 6], labels: [IGNORE_INDEX, IGNORE_INDEX, 6] })
    expect(rows[1].labels).toEqual([IGNORE_INDEX, 5, 6]) // no labels: every token after the first
    const encoded = loadTokenizer(STORIES_260K)
    const prompt = encoded.encode('Once upon a time')
    expect(rows[2].inputIds.slice(0, prompt.length)).toEqual(prompt)
    expect(rows[2].labels.slice(0, prompt.length).every((l) => l === IGNORE_INDEX)).toBe(true)
    expect(rows[2].labels.slice(prompt.length)).toEqual(rows[2].inputIds.slice(prompt.length))
    expect(rows[2].inputIds.at(-1)).not.toBe(encoded.eos!.id) // the completion's text alone is scored
    const assistant = rows[3].labels.filter((l) => l !== IGNORE_INDEX)
    expect(encoded.decode(assistant)).toBe('Hello.</s>')
  })

  it('names the file and line of a bad row', () => {
    const cases: [string, RegExp][] = [
      ['{"input_ids": [1, 2], "labels": [1]}', /"labels" has 1 entries, "input_ids" 2/],
      ['{"input_ids": [1, 999]}', /"input_ids"\[1\] is 999, not a token id \(0…511\)/],
      ['{"input_ids": [1, 2], "labels": [1, -5]}', /"labels"\[1\] is -5, not a token id \(0…511 or -100\)/],
      ['{"prompt": "a"}', /"prompt" and "completion" must both be strings or both message lists/],
      ['{"messages": [{"role": "user"}]}', /message 0 must be \{"role": string, "content": string\}/],
      ['{"text": "hello"}', /a row needs "input_ids"/],
      ['[1, 2]', /a row must be a JSON object/],
      ['{"input_ids": [1, 2', /not valid JSON/],
      [
        `{"input_ids": [${new Array(513).fill(1).join(',')}]}`,
        /513 tokens, more than the model's 512 positions/
      ]
    ]
    for (const [line, message] of cases) {
      const { path, read } = rowsOf('{"input_ids": [1, 2]}', line)
      expect(read).toThrow(message)
      expect(read).toThrow(`score rows: line 2 of ${path}: `)
    }
  })
})

describe('Scorer.scoreAll', () => {
  const cache = tempDir()
  let scorer: Scorer
  beforeAll(async () => {
    scorer = await Scorer.open({ modelDir: STORIES_260K }, { cacheDir: cache.dir, threads: 1 })
  })
  afterAll(async () => {
    await scorer.release()
    cache.cleanup()
  })

  it('batches by length but returns scores in the rows’ order, equal to scoring each row alone', async () => {
    const rows = [3, 12, 5, 30, 8].map((length, r) => {
      const inputIds = [1, ...Array.from({ length: length - 1 }, (_, t) => 260 + ((t * 7 + r * 13) % 200))]
      return { inputIds, labels: inputIds.map((id, t) => (t === 0 ? IGNORE_INDEX : id)) }
    })
    const progress: number[] = []
    const together = await scorer.scoreAll(rows, {
      batchTokens: 64,
      onProgress: (done) => progress.push(done)
    })
    expect(progress.length).toBeGreaterThan(1)
    expect(progress.at(-1)).toBe(rows.length)
    for (let r = 0; r < rows.length; r++) {
      const [alone] = await scorer.score([rows[r]])
      expect(together[r].tokens).toBe(rows[r].inputIds.length - 1)
      expect(Math.abs(together[r].logprob - alone.logprob)).toBeLessThan(1e-4)
    }
  })

  it('refuses ids outside the vocabulary, naming the row and position', async () => {
    await expect(
      scorer.score([
        { inputIds: [1, 2], labels: [1, 2] },
        { inputIds: [1, 512], labels: [-100, 5] }
      ])
    ).rejects.toThrow('Scorer.score: row 1: input id 512 at position 1 is not a token id (vocab 512)')
    await expect(scorer.score([{ inputIds: [1, 2], labels: [-100, -7] }])).rejects.toThrow(
      /row 0: label -7 at position 1/
    )
  })

  it('scores a row with no labelled tokens as 0 over 0 tokens', async () => {
    const [score] = await scorer.score([{ inputIds: [1, 300, 301], labels: [1, IGNORE_INDEX, IGNORE_INDEX] }])
    expect(score).toEqual({ tokenLogprobs: [null, null, null], logprob: 0, tokens: 0 })
  })
})

describe('contextLimit', () => {
  it('is the model’s positions, or a shorter Mistral sliding window (which the graphs do not implement)', () => {
    const base = {
      vocab_size: 32,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 1,
      num_attention_heads: 4,
      max_position_embeddings: 8192
    }
    const mistral = parseModelConfig({ ...base, architectures: ['MistralForCausalLM'], sliding_window: 4096 })
    const llama = parseModelConfig({ ...base, architectures: ['LlamaForCausalLM'] })
    expect(contextLimit(mistral)).toBe(4096)
    expect(contextLimit(llama)).toBe(8192)
  })
})
