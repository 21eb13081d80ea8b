/**
 * The sampling settings a Playground generation takes, shared by the one-model form and each side
 * of the side-by-side chat: their defaults, the bound the model's context puts on new tokens, and
 * the models.generate fields they become.
 */
import type { ModelListing } from '../../../src-preload/contract'
import type { TargetKey, useTargetsStore } from './targets'

/** models.generate's own bound on new tokens, whatever the model. */
export const MAX_NEW_TOKENS = 4096

/** The fields as the form edits them: a number input gives '' while empty. */
export interface SamplingSettings {
  maxNewTokens: number | string
  temperature: number | string
  seed: number | string
  /** Off while empty. */
  topP: number | string
  /** Off while empty. */
  topK: number | string
  /** Off while empty. */
  stop: string
}

export function defaultSamplingSettings(): SamplingSettings {
  return { maxNewTokens: 128, temperature: 0.7, seed: 0, topP: '', topK: '', stop: '' }
}

/** The base model whose context bounds a target's generation: its own, or the one a checkpoint's run trains. */
export function contextModelOf(
  targets: ReturnType<typeof useTargetsStore>,
  key: TargetKey
): ModelListing | null {
  const baseModelId = targets.baseModelIdOf(key)
  return targets.models.find((model) => model.id === baseModelId) ?? null
}

/** The most new tokens the field accepts: the context less at least one prompt token. */
export function maxNewTokensLimit(model: ModelListing | null): number {
  const context = model?.contextLength
  return context ? Math.min(MAX_NEW_TOKENS, context - 1) : MAX_NEW_TOKENS
}

/** Why the new tokens asked for cannot be generated, in words; null when they can. */
export function maxNewTokensProblem(asked: number | string, model: ModelListing | null): string | null {
  if (typeof asked !== 'number' || !Number.isInteger(asked) || asked < 1)
    return 'Ask for 1 new token or more.'
  const limit = maxNewTokensLimit(model)
  if (asked <= limit) return null
  if (model?.contextLength && model.contextLength <= MAX_NEW_TOKENS) {
    return (
      `${model.name} reads ${model.contextLength} tokens at once, the prompt included: ` +
      `ask for at most ${limit} new tokens, fewer for a long prompt.`
    )
  }
  return `At most ${MAX_NEW_TOKENS} new tokens at a time.`
}

/** The models.generate fields the settings stand for; the ones left empty are left out. */
export function samplingInput(settings: SamplingSettings) {
  return {
    maxNewTokens: settings.maxNewTokens as number,
    temperature: settings.temperature as number,
    seed: settings.seed as number,
    ...(typeof settings.topP === 'number' ? { topP: settings.topP } : {}),
    ...(typeof settings.topK === 'number' ? { topK: settings.topK } : {}),
    ...(settings.stop !== '' ? { stop: [settings.stop] } : {})
  }
}
