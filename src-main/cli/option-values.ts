/**
 * Reading the values of command-line options and arguments: each check throws a UsageError that
 * names the option and the value it got.
 */
import { UsageError } from './command'

/** A string option whose value must be one of `allowed`. */
export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`)
  }
  return value as T
}

export function integerAtLeast(name: string, value: unknown, least: number): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < least) {
    const what = least === 1 ? 'a positive integer' : `an integer of at least ${least}`
    throw new UsageError(`--${name} must be ${what}, got ${JSON.stringify(value)}`)
  }
  return n
}

export function positiveInt(name: string, value: unknown): number {
  return integerAtLeast(name, value, 1)
}

/** The DATASET argument (or a --dataset value) as a dataset id. */
export function datasetIdArg(value: string): number {
  const id = Number(value)
  if (!Number.isInteger(id) || id < 1)
    throw new UsageError(`DATASET must be a dataset id, got ${JSON.stringify(value)}`)
  return id
}
