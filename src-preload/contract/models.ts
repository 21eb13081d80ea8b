/** Base models: registering and checking model folders, and generating text with them. */
import { z } from 'zod'
import { call, id, noInput } from './shared'

export interface ModelSummary {
  id: number
  name: string
  path: string
  architecture: string
  parameterCount: number
  dtype: string
  contentHash: string
  createdAt: string
}

/** A registered base model as models.list gives it. */
export interface ModelListing extends ModelSummary {
  /**
   * The most tokens the model reads at once, prompt and generated text together: its positions
   * (max_position_embeddings), or Mistral's sliding window when shorter. null when the config.json
   * in its folder cannot be read any more.
   */
  contextLength: number | null
}

/** What a model folder is, and whether it can be trained here. */
export interface ModelValidation {
  path: string
  /** No errors: the folder can be registered and trained. */
  ok: boolean
  architecture: string | null
  parameterCount: number | null
  /** Weight dtypes, e.g. "F32" or "BF16" ("+"-joined when mixed). */
  dtype: string | null
  maxPositionEmbeddings: number | null
  hasTokenizer: boolean
  /** 'model': the tokenizer's own chat template; 'fallback': none, the plain User:/Assistant: one is used. */
  chatTemplate: 'model' | 'fallback' | null
  /** Each names the file and what is wrong with it. */
  errors: string[]
  warnings: string[]
}

/** Why a generation ended: its token budget, an end-of-sequence token, a stop string, or a cancel. */
export type GenerateFinishReason = 'length' | 'eos' | 'stop' | 'aborted'

export interface GenerateOutput {
  /** The job that generated (its job.output events carried the text as it came). */
  jobId: string
  /** The generated text, without the prompt (and without a stop string that ended it). */
  text: string
  finishReason: GenerateFinishReason
  /** New tokens generated (an end-of-sequence token that stopped generation counts). */
  tokenCount: number
}

const generateMessage = z
  .object({ role: z.enum(['system', 'user', 'assistant']), content: z.string().max(1_000_000) })
  .strict()

/** One turn of a conversation models.generate answers. */
export type GenerateMessage = z.infer<typeof generateMessage>

export const modelCalls = {
  'models.list': call<ModelListing[]>()('Registered base models, with the context each reads.', noInput),
  'models.register': call<{ jobId: string }>()(
    'Register an HF model folder as a base model. Hashes the weights in a job; the model appears when it ends.',
    z.object({ path: z.string().min(1), name: z.string().trim().min(1).max(200).optional() }).strict()
  ),
  'models.validate': call<ModelValidation>()(
    'Check a model folder without registering it: architecture, parameter count, dtype, tokenizer, chat template.',
    z.object({ path: z.string().min(1) }).strict()
  ),
  'models.generate': call<GenerateOutput>()(
    "Generate text after a prompt (or a chat's messages) with a base model or a run's checkpoint (job " +
      '"engine.generate"); the ' +
      'text streams as job.output events tagged with requestId, and the call answers when it ends. ' +
      'Cancel it with jobs.cancel: the answer then holds the text so far, finishReason "aborted".',
    z
      .object({
        baseModelId: id.optional(),
        checkpointId: id.optional(),
        /** '' starts from the BOS token alone. */
        prompt: z.string().max(1_000_000).optional(),
        /**
         * A conversation so far, ending with the user turn to answer, rendered by the model's chat
         * template (the Playground's side-by-side chat): instead of prompt, and only with chat on.
         */
        messages: z.array(generateMessage).min(1).max(1000).optional(),
        /** Wrap the prompt as a user turn of the model's chat template. */
        chat: z.boolean().default(true),
        maxNewTokens: z.number().int().min(1).max(4096).default(128),
        /** 0 = greedy decoding. */
        temperature: z.number().min(0).max(5).default(0.7),
        topP: z.number().gt(0).max(1).optional(),
        topK: z.number().int().min(1).optional(),
        seed: z.number().int().min(0).default(0),
        /** Generation stops before any of these texts appears. */
        stop: z.array(z.string().min(1).max(200)).max(16).optional(),
        /**
         * Chosen by the client and echoed in this generation's job.output events, so that a client
         * can follow its own stream (and learn the jobId to cancel) before the call answers.
         */
        requestId: z.string().min(1).max(100).optional()
      })
      .strict()
      .refine((v) => (v.baseModelId === undefined) !== (v.checkpointId === undefined), {
        message: 'give exactly one of baseModelId and checkpointId'
      })
      .refine((v) => (v.prompt === undefined) !== (v.messages === undefined), {
        message: 'give exactly one of prompt and messages'
      })
      .refine((v) => v.messages === undefined || v.chat, {
        message: 'messages are rendered by the chat template: chat cannot be false with messages',
        path: ['chat']
      })
      .refine((v) => v.messages === undefined || v.messages.at(-1)!.role === 'user', {
        message: 'messages must end with the user turn to answer',
        path: ['messages']
      })
  )
} as const
