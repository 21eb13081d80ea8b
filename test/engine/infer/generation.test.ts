import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodePrompt, Generator } from '../../../src-main/engine/infer/generation'
import { loadTokenizer, type TextTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { STORIES_260K, tempDir } from '../../helpers/temp'

const GOLDEN = join(import.meta.dirname, '..', '..', 'fixtures', 'golden', 'stories260K-greedy.json')

describe('generation on stories260K', () => {
  const cache = tempDir()
  let generator: Generator
  let tokenizer: TextTokenizer
  beforeAll(async () => {
    generator = await Generator.open({ modelDir: STORIES_260K }, { cacheDir: cache.dir, threads: 1 })
    tokenizer = loadTokenizer(STORIES_260K)
  })
  afterAll(async () => {
    await generator.release()
    cache.cleanup()
  })

  it('greedy from BOS reproduces the original 199 tokens and their text', async () => {
    const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as { prompt_ids: number[]; new_ids: number[]; text: string }
    const prompt = encodePrompt(tokenizer, generator.model.config, '')
    expect(prompt).toEqual(golden.prompt_ids)
    const pieces: string[] = []
    const result = await generator.generate(prompt, tokenizer, {
      maxNewTokens: 199,
      temperature: 0,
      stopAtEos: false,
      onText: (piece) => pieces.push(piece)
    })
    expect(result.tokenIds).toEqual(golden.new_ids)
    expect(result.text).toBe(golden.text)
    expect(result.text.startsWith('Once upon a time, there was a little girl named Lily. She loved to play outside in the park.')).toBe(true)
    expect(pieces.join('')).toBe(golden.text)
    expect(pieces.length).toBeGreaterThan(100)
  })
})
