/**
 * Exponential moving average with TensorBoard's bias correction: the average starts at 0, so early
 * values are divided by (1 − weight^n) to undo the pull towards 0. `weight` 0 returns the values as
 * they are; 0.99 is very smooth. Non-finite values pass through and do not disturb the average.
 */
export function emaSmooth(values: readonly number[], weight: number): number[] {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`emaSmooth: weight must be in [0, 1), got ${weight}`)
  let average = 0
  let count = 0
  return values.map((value) => {
    if (!Number.isFinite(value)) return value
    average = average * weight + (1 - weight) * value
    count++
    return average / (1 - weight ** count)
  })
}
