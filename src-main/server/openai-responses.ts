/**
 * What the endpoint answers, in the shapes of OpenAI's API reference: whole answers
 * (`chat.completion`, `text_completion`) and the chunks of a stream (`chat.completion.chunk`,
 * `text_completion` again), for chat and for plain completions alike.
 */
import type { GenerationOutcome } from './openai-generate'

export type FinishReason = GenerationOutcome['finishReason']

/** What every answer to one request shares. */
export interface AnswerHeading {
  id: string
  /** Unix seconds. */
  created: number
  model: string
}

export interface Usage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
}

export function usageOf(outcome: GenerationOutcome): Usage {
  return {
    prompt_tokens: outcome.promptTokens,
    completion_tokens: outcome.completionTokens,
    total_tokens: outcome.promptTokens + outcome.completionTokens
  }
}

/** The two endpoints differ only in how a choice carries its text, whole or as a piece. */
export interface AnswerFormat {
  /** `id` prefix, as OpenAI's own. */
  idPrefix: string
  object: string
  chunkObject: string
  choice(text: string, finishReason: FinishReason): Record<string, unknown>
  /** A piece of a stream; `first` carries the role where the format has one. */
  chunkChoice(piece: string, finishReason: FinishReason | null, first: boolean): Record<string, unknown>
}

export const chatFormat: AnswerFormat = {
  idPrefix: 'chatcmpl-',
  object: 'chat.completion',
  chunkObject: 'chat.completion.chunk',
  choice: (text, finishReason) => ({
    index: 0,
    message: { role: 'assistant', content: text, refusal: null },
    logprobs: null,
    finish_reason: finishReason
  }),
  chunkChoice: (piece, finishReason, first) => ({
    index: 0,
    delta: finishReason ? {} : first ? { role: 'assistant', content: piece } : { content: piece },
    logprobs: null,
    finish_reason: finishReason
  })
}

export const completionFormat: AnswerFormat = {
  idPrefix: 'cmpl-',
  object: 'text_completion',
  chunkObject: 'text_completion',
  choice: (text, finishReason) => ({ index: 0, text, logprobs: null, finish_reason: finishReason }),
  chunkChoice: (piece, finishReason) => ({
    index: 0,
    text: piece,
    logprobs: null,
    finish_reason: finishReason
  })
}

export function wholeAnswer(
  format: AnswerFormat,
  heading: AnswerHeading,
  outcome: GenerationOutcome
): Record<string, unknown> {
  return {
    ...heading,
    object: format.object,
    choices: [format.choice(outcome.text, outcome.finishReason)],
    usage: usageOf(outcome)
  }
}

export function chunk(
  format: AnswerFormat,
  heading: AnswerHeading,
  choices: Record<string, unknown>[],
  usage?: Usage
): Record<string, unknown> {
  return { ...heading, object: format.chunkObject, choices, ...(usage ? { usage } : {}) }
}
