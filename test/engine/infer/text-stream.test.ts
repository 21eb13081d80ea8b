import { describe, expect, it } from 'vitest'
import { TextStream } from '../../../src-main/engine/infer/text-stream'

/** A decoder over a fixed table: id → text, joined. */
function decoder(table: Record<number, string>) {
  return { decode: (ids: readonly number[]) => ids.map((id) => table[id]).join('') }
}

describe('TextStream', () => {
  it('releases each token’s text as it comes', () => {
    const stream = new TextStream(decoder({ 1: 'Hel', 2: 'lo', 3: ' world' }))
    expect([1, 2, 3].map((id) => stream.push(id).piece)).toEqual(['Hel', 'lo', ' world'])
    expect(stream.flush()).toBe('')
    expect(stream.text).toBe('Hello world')
  })

  it('holds back text that may grow into a stop string, and stops before it', () => {
    const stream = new TextStream(decoder({ 1: 'one ', 2: 'tw', 3: 'o', 4: ' thr', 5: 'ee' }), [
      'two',
      'three'
    ])
    expect(stream.push(1)).toEqual({ piece: 'one ', stopped: false })
    expect(stream.push(2)).toEqual({ piece: '', stopped: false }) // "tw" could start "two"
    expect(stream.push(3)).toEqual({ piece: '', stopped: true })
    expect(stream.text).toBe('one ')
    expect(() => stream.push(4)).toThrow(/already stopped/)
  })

  it('releases held text once it cannot be a stop string any more', () => {
    const stream = new TextStream(decoder({ 1: 'tw', 2: 'in', 3: '.' }), ['two'])
    expect(stream.push(1).piece).toBe('')
    expect(stream.push(2).piece).toBe('twin')
    expect(stream.push(3).piece).toBe('.')
  })

  it('a stop string spanning several tokens cuts the text where it starts', () => {
    const stream = new TextStream(decoder({ 1: 'ab', 2: 'c\nEN', 3: 'D!' }), ['\nEND'])
    expect(stream.push(1).piece).toBe('ab')
    expect(stream.push(2).piece).toBe('c')
    expect(stream.push(3)).toEqual({ piece: '', stopped: true })
    expect(stream.text).toBe('abc')
  })

  it('waits for the rest of a character split over byte tokens', () => {
    // "é" is two UTF-8 bytes: after the first one a decoder shows U+FFFD
    const bytes = { decode: (ids: readonly number[]) => (ids.length === 1 ? 'caf\uFFFD' : 'café') }
    const stream = new TextStream(bytes)
    expect(stream.push(1).piece).toBe('caf')
    expect(stream.push(2).piece).toBe('é')
  })

  it('flushes what is held when generation ends', () => {
    const stream = new TextStream(decoder({ 1: 'end tw' }), ['two'])
    expect(stream.push(1).piece).toBe('end ')
    expect(stream.flush()).toBe('tw')
  })

  it('refuses an empty stop string', () => {
    expect(() => new TextStream(decoder({}), [''])).toThrow(/stop string must not be empty/)
  })
})
