/**
 * Every sample is ONE conversation schema, whatever format it was imported from:
 *   messages  the turns in order; an assistant turn may carry tool_calls, a tool turn answers one
 *             (tool_call_id); loss_weight scales a turn's loss (0 = untrained, absent = 1)
 *   tools     the function schemas offered to the model (OpenAI "tools"), when the source had any
 *   rejected  preference pairs only: the rejected completion. The prompt is every message of
 *             `messages` up to and including the last user turn; the chosen completion is the rest
 *             of `messages`, and the rejected conversation is that prompt followed by `rejected`.
 *   metadata  columns of the source row the mapping did not use (id, source, category, …), kept
 *             so that export can write them back; absent when there were none, so that a sample
 *             without extras keeps its canonical JSON and content hash. A message's `metadata`
 *             is the same for the keys of a source message object the importer does not read.
 *             Metadata is part of the sample's content (and hash); nothing in training uses it
 *             (a message's goes to the chat template with the message, which ignores it).
 *             A message's image/video/audio content parts are kept there too, as `media_parts`
 *             ([{at, part}]: the part as the source wrote it and its offset in the content): the
 *             model is text-only, and export writes them back in place.
 * A message's reasoning_content is an assistant turn's reasoning (distilled traces, Qwen3
 * thinking data), read from `reasoning_content`, `reasoning` or `thinking`; chat templates that
 * know it (Qwen3: message.reasoning_content) render it, others ignore it.
 * SFT on a preference sample trains on the chosen completion.
 *
 * Two more kinds of sample share the schema:
 *   text      a raw-text sample (continued pre-training: `{"text"}` rows, .txt files): `messages`
 *             is empty and every token of `text` is trained (bos + text + eos); a long text is cut
 *             into windows of the run's maximum length, not truncated.
 *   label     an unpaired preference (TRL's KTO form `{prompt, completion, label}`): true marks a
 *             desirable completion, false an undesirable one. Supervised recipes train only the
 *             desirable ones and report the others as skipped.
 */
import { z } from 'zod'

export type ConversationRole = 'system' | 'user' | 'assistant' | 'tool'

export interface ToolCall {
  id?: string
  type: 'function'
  /** `arguments` as the source had it: OpenAI sends a JSON string, ShareGPT/HF templates an object. */
  function: { name: string; arguments: string | Record<string, unknown> }
}

export interface ConversationMessage {
  role: ConversationRole
  content: string
  /** Weight of this turn's tokens in the loss; absent means 1 (the recipe's default). */
  loss_weight?: number
  tool_calls?: ToolCall[]
  /** A tool turn: the call it answers. */
  tool_call_id?: string
  /** A tool turn: the tool's name. */
  name?: string
  /** The turn's reasoning (chain of thought), apart from its content; absent when empty. */
  reasoning_content?: string
  /** Keys of the source message the importer does not read; absent when there were none. */
  metadata?: Record<string, unknown>
}

export interface Conversation {
  /** Empty exactly when `text` is set. */
  messages: ConversationMessage[]
  /** A raw-text sample's text (see above); absent for conversations. */
  text?: string
  /** Unpaired preference label (see above); absent for everything else. */
  label?: boolean
  tools?: unknown[]
  rejected?: ConversationMessage[]
  /** Columns of the source row the mapping did not use; absent when there were none. */
  metadata?: Record<string, unknown>
}

const toolCallSchema = z
  .object({
    id: z.string().optional(),
    type: z.literal('function').default('function'),
    function: z
      .object({
        name: z.string().min(1),
        arguments: z.union([z.string(), z.record(z.string(), z.unknown())])
      })
      .strict()
  })
  .strict()
const messageSchema = z
  .object({
    role: z.enum(['system', 'user', 'assistant', 'tool']),
    content: z.string(),
    loss_weight: z.number().min(0).max(1000).optional(),
    tool_calls: z.array(toolCallSchema).optional(),
    tool_call_id: z.string().optional(),
    name: z.string().optional(),
    reasoning_content: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()).optional()
  })
  .strict()
/** A conversation as an editor sends it (see Conversation). */
export const conversationSchema = z
  .object({
    messages: z.array(messageSchema),
    text: z.string().min(1).optional(),
    label: z.boolean().optional(),
    tools: z.array(z.unknown()).optional(),
    rejected: z.array(messageSchema).min(1).optional(),
    metadata: z.record(z.string(), z.unknown()).optional()
  })
  .strict()
  .refine((c) => (c.text === undefined) !== (c.messages.length === 0), {
    message: 'a sample has either messages or (raw text) a text, not both and not neither'
  })
