import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The repository's `resources/` folder (embedded default model, sample datasets, built-in
 * benchmarks), found by walking up from this code: it sits two levels above the sources
 * (src-main/…) and above the bundle (out/main/…).
 */
export function resourcesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'resources')
    if (existsSync(join(candidate, 'models'))) return candidate
    dir = dirname(dir)
  }
  throw new Error(`resources folder not found above ${fileURLToPath(import.meta.url)}`)
}

/** The embedded default base model: used wherever a base model is needed and none is given. */
export function defaultModelDir(): string {
  return join(resourcesDir(), 'models', 'stories260K')
}
