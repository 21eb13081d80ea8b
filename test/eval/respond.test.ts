import { describe, expect, it } from 'vitest'
import { rollingRows } from '../../src-main/eval/respond'
import { TargetEngine } from '../../src-main/eval/target-engine'
import { IGNORE_INDEX } from '../../src-main/engine/tokenizer/labels'
import { STORIES_260K } from '../helpers/temp'

describe('rolling log-likelihood windows', () => {
  it('predict every token exactly once, each row within the context, each with a token before it', () => {
    const tokens = Array.from({ length: 23 }, (_, i) => 100 + i)
    const rows = rollingRows(tokens, 1, 8)
    const predicted = rows.flatMap((row) => row.labels.filter((label) => label !== IGNORE_INDEX))
    expect(predicted).toEqual(tokens)
    for (const row of rows) {
      expect(row.inputIds.length).toBeLessThanOrEqual(8)
      expect(row.labels[0]).toBe(IGNORE_INDEX)
    }
    expect(rows[0].inputIds[0]).toBe(1) // the prefix token starts the first window
    // Later windows see the tokens just before the ones they predict.
    expect(rows[1].inputIds).toEqual(tokens.slice(6, 14))
  })
})

describe('lm-eval pair encoding', () => {
  const engine = new TargetEngine({ modelDir: STORIES_260K, adapterDir: null }, {}, false)

  it('moves trailing spaces of the context to the continuation, and shares the context tokens', () => {
    const a = engine.encodePair('Question: Who is Lily?\nAnswer: ', 'a girl')
    const b = engine.encodePair('Question: Who is Lily?\nAnswer:', ' a girl')
    expect(a).toEqual(b)
    expect(a.context).toEqual(engine.encode('Question: Who is Lily?\nAnswer:'))
    expect(engine.tokenizer.decode(a.continuation)).toBe(' a girl'.trim()) // SentencePiece drops the leading space marker
  })

  it('starts a text with BOS as the model was trained, and an empty context is BOS alone', () => {
    const bos = engine.tokenizer.bos!.id
    expect(engine.encode('Once upon a time')[0]).toBe(bos)
    expect(engine.encode('')).toEqual([bos])
  })
})
