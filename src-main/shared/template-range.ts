/**
 * Python's `range` for the templates we render from files users bring (chat templates, dataset
 * field templates, evaluation task templates), with a budget: `range(10**9)` in a hostile template
 * would otherwise build a billion-element array in the process that renders it, and nested ranges
 * would loop for hours. One rendering may make at most RANGE_BUDGET values with range() in all —
 * far more than a real template's loops over a conversation's messages need — and asking for more
 * is an error naming the call, which the renderer reports like any template error.
 */
export const RANGE_BUDGET = 1_000_000

/** A fresh `range` for one rendering, failing with `fail(message)` once the budget is spent. */
export function budgetedRange(
  fail: (message: string) => Error = (message) => new Error(message)
): (start: number, stop?: number, step?: number) => number[] {
  let left = RANGE_BUDGET
  return (start, stop, step = 1) => {
    const [from, to] = stop === undefined ? [0, start] : [start, stop]
    if (step === 0) throw fail('range() arg 3 must not be zero')
    const count = Math.max(0, Math.ceil((to - from) / step))
    if (!Number.isFinite(count) || count > left) {
      throw fail(
        `range(${[from, to, step].join(', ')}) makes ${count} values; a template may make at most ` +
          `${RANGE_BUDGET} with range() in one rendering`
      )
    }
    left -= count
    const values: number[] = []
    for (let i = from; step > 0 ? i < to : i > to; i += step) values.push(i)
    return values
  }
}
