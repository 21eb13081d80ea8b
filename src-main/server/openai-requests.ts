/**
 * The bodies of `POST /v1/chat/completions` and `/v1/completions`, checked and turned into one
 * generation request. Fields we do not use (penalties, user, logit_bias…) are ignored, as other
 * local OpenAI-compatible servers do; fields whose answer we cannot give (n > 1, logprobs, echo,
 * tools) are refused, so a client never takes a silent default for what it asked.
 */
import { z } from 'zod'
import type { ChatMessage } from '../engine/tokenizer/chat-template'
import { OpenAiError } from './openai-errors'

export interface GenerationRequest {
  model: string
  /** Chat: the conversation to answer, through the model's chat template. */
  messages: ChatMessage[] | null
  /** Completions: the text to continue. */
  prompt: string | null
  /** null: as many as the context has room for. */
  maxTokens: number | null
  temperature: number
  topP: number | undefined
  seed: number
  stop: string[]
  stream: boolean
  includeUsage: boolean
}

/** What OpenAI's /v1/completions generates when max_tokens is left out. */
const LEGACY_COMPLETION_MAX_TOKENS = 16

/** Unset in OpenAI's sense: left out or null. */
const unset = z.null().optional()

/** A field only its "off" value of which we can honour. */
function onlyOff(refusal: string) {
  return z.union([unset, z.literal(false, { error: refusal })])
}

const stopText = z.string().min(1).max(200)

const samplingFields = {
  model: z.string().min(1).max(200),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  /** Our sampler needs some mass left: 0 is refused, not taken for greedy. */
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.number().int().min(0).max(0xffff_ffff).nullish(),
  stop: z.union([stopText, z.array(stopText).max(16)]).nullish(),
  n: z.union([unset, z.literal(1, { error: 'only n = 1 is supported' })]),
  logprobs: onlyOff('logprobs are not supported'),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish()
}

const textPart = z.object({ type: z.literal('text'), text: z.string() })

const chatMessage = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string(), z.array(textPart).max(1000)])
})

const chatBody = z.object({
  ...samplingFields,
  messages: z
    .array(chatMessage)
    .min(1)
    .max(1000)
    .refine((messages) => messages.at(-1)!.role === 'user', 'must end with the user turn to answer'),
  max_completion_tokens: z.number().int().min(1).nullish(),
  tools: z.union([unset, z.array(z.unknown()).length(0, 'tools are not supported')])
})

const completionBody = z.object({
  ...samplingFields,
  prompt: z.union([z.string(), z.array(z.string()).length(1, 'give one prompt: only n = 1 is supported')]),
  echo: onlyOff('echo is not supported')
})

/** A refusal naming the first field that is wrong, as OpenAI's `param`. */
function invalid(error: z.ZodError): OpenAiError {
  const issue = error.issues[0]
  const param = issue.path.length > 0 ? issue.path.join('.') : null
  const reason = issue.code === 'invalid_union' ? unionRefusal(issue) : issue.message
  return new OpenAiError(400, 'invalid_request_error', `${param ?? 'body'}: ${reason}`, param)
}

/**
 * A union's own message is only "Invalid input". The unions above put the branch that describes the
 * values we accept last, so its message is the one that says what was wrong.
 */
function unionRefusal(issue: z.core.$ZodIssueInvalidUnion): string {
  return issue.errors.flat().at(-1)?.message ?? issue.message
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new OpenAiError(400, 'invalid_request_error', 'the request body must be a JSON object', null)
  }
  const parsed = schema.safeParse(body)
  if (!parsed.success) throw invalid(parsed.error)
  return parsed.data
}

function common(body: z.infer<z.ZodObject<typeof samplingFields>>) {
  return {
    model: body.model,
    temperature: body.temperature ?? 1,
    // top_p 1 keeps every token: the same as no nucleus cut.
    topP: body.top_p === 1 ? undefined : (body.top_p ?? undefined),
    seed: body.seed ?? 0,
    stop: typeof body.stop === 'string' ? [body.stop] : (body.stop ?? []),
    stream: body.stream ?? false,
    includeUsage: body.stream_options?.include_usage ?? false
  }
}

/** A message's text: a string, or the text parts OpenAI's newer clients send, joined. */
function messageText(content: z.infer<typeof chatMessage>['content']): string {
  return typeof content === 'string' ? content : content.map((part) => part.text).join('')
}

export function parseChatRequest(body: unknown): GenerationRequest {
  const chat = parse(chatBody, body)
  return {
    ...common(chat),
    // "developer" is what OpenAI's newer models call the system turn; chat templates know "system".
    messages: chat.messages.map((m) => ({
      role: m.role === 'developer' ? 'system' : m.role,
      content: messageText(m.content)
    })),
    prompt: null,
    maxTokens: chat.max_completion_tokens ?? chat.max_tokens ?? null
  }
}

export function parseCompletionRequest(body: unknown): GenerationRequest {
  const completion = parse(completionBody, body)
  return {
    ...common(completion),
    messages: null,
    prompt: typeof completion.prompt === 'string' ? completion.prompt : completion.prompt[0],
    maxTokens: completion.max_tokens ?? LEGACY_COMPLETION_MAX_TOKENS
  }
}
