/**
 * Checking a dataset before training on it: duplicates, statistics, token counts, the chat
 * template's rendering, samples that would not train, and split assignment.
 */
import { z } from 'zod'
import type { ConversationRole } from './conversation'
import { conversationSchema } from './conversation'
import { sampleFilterSchema, type DuplicateKind } from './samples'
import { call, editor, id, sampleId, type Split } from './shared'

export interface DuplicateGroup {
  kind: DuplicateKind
  /** Lowest sample id first; keeping the first and deleting the rest resolves the group. */
  sampleIds: number[]
  /** Estimated Jaccard similarity of word shingles (1 for exact duplicates). */
  similarity: number
  /** The first sample's prompt, cut to 300 characters. */
  prompt: string
}

export interface DuplicateReport {
  kind: DuplicateKind
  groups: DuplicateGroup[]
  /** Samples in some group. */
  sampleCount: number
  /** Near duplicates: the settings they were found with. */
  threshold: number | null
  createdAt: string | null
}

export interface HistogramBin {
  /** Inclusive lower and exclusive upper bound. */
  from: number
  to: number
  count: number
}

export interface DatasetStats {
  sampleCount: number
  splits: Record<Split, number>
  roles: { role: ConversationRole; messages: number; samples: number }[]
  /** Samples per message count. */
  messageCounts: { messages: number; samples: number }[]
  preferenceCount: number
  /** Token lengths, when counted with the tokenizer asked for (datasets.countTokens). */
  tokens: {
    tokenizer: string
    counted: number
    min: number
    max: number
    mean: number
    p50: number
    p95: number
    histogram: HistogramBin[]
  } | null
  /** Tokenizers with stored counts, and for how many of the current samples. */
  tokenizers: { tokenizer: string; label: string; counted: number }[]
}

export interface TokenCountResult {
  jobId: string
  tokenizer: string
  label: string
  counted: number
}

export interface TemplatePreview {
  /** The chat template's rendering of the conversation. */
  text: string
  /** The trained (loss-carrying) character ranges of `text`, end exclusive. */
  spans: { start: number; end: number; messageIndex: number; weight: number }[]
  tokenCount: number
  trainedTokenCount: number
  /** 'default', 'tool_use', or 'fallback' (the model has no chat template); 'raw text' for a text sample. */
  template: string
  model: string
  /**
   * The further sequences the sample trains as, when the template renders an earlier turn
   * differently from how the model generates it (Qwen3 drops earlier reasoning): each such turn
   * trains in the conversation up to it. `text`/`spans` above are the whole conversation's. A raw
   * text longer than the maximum length is cut into windows at training time, not here.
   */
  moreSequences: { text: string; spans: TemplatePreview['spans'] }[]
  /** What the template leaves out of the sample (its content, reasoning or tool calls), by message. */
  drops: string[]
}

/**
 * template_drops: the chat template leaves out part of a message (its content, reasoning or tool
 * calls), so the model would train on a conversation that is not the sample.
 */
export type PreflightProblemKind =
  'empty' | 'too_long' | 'no_trainable_tokens' | 'template_error' | 'template_drops'

export interface PreflightReport {
  jobId: string
  checked: number
  maxLength: number
  /** The base model whose tokenizer and chat template rendered the samples. */
  model: string
  /** The most tokens that model trains on (max_position_embeddings); maxLength is at most this. */
  contextLength: number
  counts: Record<PreflightProblemKind, number>
  /** The first 1,000 problems, by sample id. */
  problems: { sampleId: number; kind: PreflightProblemKind; detail: string; tokenCount: number | null }[]
}

export interface SplitResult {
  counts: Record<Split, number>
  /** Samples whose split changed (each got a revision). */
  changed: number
}

/** A base model's tokenizer and template; absent means the embedded default model. */
const baseModel = { baseModelId: id.optional() }

export const datasetQualityCalls = {
  'datasets.duplicates': call<DuplicateReport>()(
    'Exact-duplicate groups (same content), or the near-duplicate groups found by the last datasets.findNearDuplicates.',
    z.object({ id, kind: z.enum(['exact', 'near']) }).strict()
  ),
  'datasets.findNearDuplicates': call<DuplicateReport & { jobId: string }>()(
    'Find near-duplicate groups with MinHash over word shingles and LSH banding (job "dataset.near-duplicates").',
    z
      .object({
        id,
        threshold: z.number().min(0.3).max(1).default(0.8),
        shingleWords: z.number().int().min(1).max(10).default(3),
        numHashes: z.number().int().min(16).max(512).default(128)
      })
      .strict()
  ),
  'datasets.stats': call<DatasetStats>()(
    'Role statistics, message counts and (when counted) the token-length histogram of the live samples.',
    z
      .object({
        id,
        tokenizer: z.string().min(1).optional(),
        bins: z.number().int().min(1).max(200).default(30)
      })
      .strict()
  ),
  'datasets.countTokens': call<TokenCountResult>()(
    'Count the tokens of every live sample with a base model\'s chat template and tokenizer (job "dataset.count-tokens").',
    z.object({ id, ...baseModel }).strict()
  ),
  'datasets.templatePreview': call<TemplatePreview>()(
    "Render a sample (or a conversation being edited) with a base model's chat template, trained spans marked.",
    z
      .object({
        sampleId: sampleId.optional(),
        conversation: conversationSchema.optional(),
        /** For preference samples: render the chosen or the rejected conversation. */
        side: z.enum(['chosen', 'rejected']).default('chosen'),
        ...baseModel
      })
      .strict()
      .refine((v) => (v.sampleId === undefined) !== (v.conversation === undefined), {
        message: 'give exactly one of sampleId and conversation'
      })
  ),
  'datasets.preflight': call<PreflightReport>()(
    'List live samples whose content, reasoning or tool calls the chat template leaves out, or that render empty, exceed the maximum length, or have no trainable tokens (job "dataset.preflight").',
    z
      .object({
        id,
        ...baseModel,
        /** Default: the model's context (max_position_embeddings). */
        maxLength: z.number().int().min(8).max(1_000_000).optional()
      })
      .strict()
  ),
  'datasets.assignSplits': call<SplitResult>()(
    'Assign train/validation/test splits at random with a seed, optionally stratified by tag.',
    z
      .object({
        id,
        seed: z.number().int().min(0).default(0),
        ratios: z
          .object({
            train: z.number().min(0).max(1),
            validation: z.number().min(0).max(1),
            test: z.number().min(0).max(1)
          })
          .strict()
          .refine((r) => Math.abs(r.train + r.validation + r.test - 1) < 1e-6, {
            message: 'ratios must add up to 1'
          }),
        stratifyByTag: z.boolean().default(false),
        filter: sampleFilterSchema.default({}),
        author: editor.author
      })
      .strict()
  )
} as const
