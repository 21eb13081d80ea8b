import {
  encodeChatMessages,
  encodeChatPrompt,
  encodePrompt,
  generationEosIds,
  Generator,
  type FinishReason
} from '../../engine/infer/generation'
import { contextLimit } from '../../engine/infer/model-session'
import type { Device } from '../../engine/runtime/devices'
import type { ChatMessage } from '../../engine/tokenizer/chat-template'
import { loadTokenizer, type TextTokenizer } from '../../engine/tokenizer/tokenizer'
import { checkpointWeightsSource } from '../../engine/train/checkpoint-weights'
import type { JobKind } from '../protocol'

export interface EngineGenerateInput {
  modelDir: string
  adapterDir?: string | null
  /**
   * A training checkpoint (`<out>/checkpoints/step-N`) of a run on `modelDir`: its trained tensors
   * are exported beside it (once) and loaded over the base model; then adapterDir must be null.
   */
  checkpointDir?: string | null
  /** '' starts from BOS alone. */
  prompt: string
  /** A conversation ending with a user turn, rendered by the chat template; prompt and chat are then unused. */
  messages?: ChatMessage[]
  /** Wrap the prompt as a user turn of the model's chat template. */
  chat?: boolean
  maxNewTokens: number
  /**
   * Generate at most as many new tokens as the context has room for after the prompt, rather than
   * fail: OpenAI clients leave max_tokens out to mean "until the context is full". A prompt that
   * fills the context then gets no tokens, finishReason 'length'.
   */
  fitToContext?: boolean
  /** 0 = greedy. */
  temperature: number
  topK?: number
  topP?: number
  seed?: number
  stopStrings?: string[]
  device?: Device
  cacheDir?: string
  threads?: number
}

export interface EngineGenerateOutput {
  text: string
  tokenIds: number[]
  finishReason: FinishReason
  /** How many tokens the encoded prompt took (OpenAI's usage.prompt_tokens). */
  promptTokenCount: number
}

/** The weights a generation job names, in the engine's settings a generation job takes. */
export type GenerationWeights = Pick<
  EngineGenerateInput,
  'modelDir' | 'adapterDir' | 'checkpointDir' | 'device' | 'cacheDir' | 'threads'
>

/**
 * The tokenizer and a Generator for a job's weights, stopping at the tokenizer's end-of-sequence
 * and the model's end-of-turn tokens. The caller releases the generator.
 */
export async function openGeneration(
  input: GenerationWeights
): Promise<{ tokenizer: TextTokenizer; generator: Generator }> {
  const source = input.checkpointDir
    ? checkpointWeightsSource(input.checkpointDir, input.modelDir)
    : { modelDir: input.modelDir, adapterDir: input.adapterDir }
  const tokenizer = loadTokenizer(source.modelDir)
  const eos = [...(tokenizer.eos ? [tokenizer.eos.id] : []), ...generationEosIds(source.modelDir)]
  const generator = await Generator.open(source, {
    device: input.device,
    cacheDir: input.cacheDir,
    threads: input.threads,
    eosTokenIds: eos
  })
  return { tokenizer, generator }
}

/** Generates text after a prompt, streaming each new piece as job output. */
export const engineGenerateJob: JobKind<EngineGenerateInput, EngineGenerateOutput> = {
  kind: 'engine.generate',
  summary: 'Generate text from a prompt with a model, streaming it as it comes',
  async run(input, ctx) {
    const { tokenizer, generator } = await openGeneration(input)
    try {
      const promptIds = input.messages
        ? encodeChatMessages(tokenizer, input.messages)
        : input.chat
          ? encodeChatPrompt(tokenizer, input.prompt)
          : encodePrompt(tokenizer, generator.model.config, input.prompt)
      const room = contextLimit(generator.model.config) - promptIds.length
      if (input.fitToContext && room <= 0)
        return { text: '', tokenIds: [], finishReason: 'length', promptTokenCount: promptIds.length }
      const maxNewTokens = input.fitToContext ? Math.min(input.maxNewTokens, room) : input.maxNewTokens
      const result = await generator.generate(promptIds, tokenizer, {
        maxNewTokens,
        temperature: input.temperature,
        topK: input.topK,
        topP: input.topP,
        seed: input.seed,
        stopStrings: input.stopStrings,
        signal: ctx.signal,
        onText: (piece) => ctx.output(piece),
        onToken: (_id, count) => ctx.progress(count, maxNewTokens, 'generating')
      })
      return { ...result, promptTokenCount: promptIds.length }
    } finally {
      await generator.release()
    }
  }
}
