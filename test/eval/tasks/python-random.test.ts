import { describe, expect, it } from 'vitest'
import { PythonRandom } from '../../../src-main/eval/tasks/python-random'

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

/** Every expected value was printed by CPython 3.11's `random.Random`. */
describe('PythonRandom, draw for draw with CPython', () => {
  it('seeds from an integer as CPython does (its absolute value, in 32-bit words)', () => {
    const r = new PythonRandom(1234)
    expect([r.getrandbits(32), r.getrandbits(32), r.getrandbits(32)]).toEqual([
      4150886329, 3342196574, 1892932127
    ])
    expect(r.random()).toBe(0.11685051774599753)
    const zero = new PythonRandom(0)
    expect([zero.random(), zero.random()]).toEqual([0.8444218515250481, 0.7579544029403025])
    expect(new PythonRandom(2 ** 40 + 5).random()).toBe(0.5043802970418443)
    expect(new PythonRandom(-1234).random()).toBe(new PythonRandom(1234).random())
  })

  it("samples with both of CPython's strategies (a small pool and a large one)", () => {
    const r = new PythonRandom(1234)
    expect(r.sample(range(10), 5)).toEqual([7, 1, 0, 9, 4])
    expect(r.sample(range(7473), 6)).toEqual([286, 5501, 5677, 687, 806, 6279])
    expect(r.sample(range(100), 3)).toEqual([45, 30, 2])
    expect(() => r.sample(range(3), 4)).toThrow(/cannot draw 4 from a population of 3/)
  })

  it('draws choices with replacement', () => {
    expect(new PythonRandom(3).choices(range(10), 8)).toEqual([2, 5, 3, 6, 6, 0, 0, 8])
  })
})
