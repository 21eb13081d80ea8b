/**
 * One evaluated model (+ adapter) as the evaluation runner uses it: its tokenizer, lm-eval's way of
 * turning a (context, continuation) pair into tokens, and the engine sessions a task needs, opened
 * on first use and shared by every task evaluated on the same target.
 */
import { ChoiceScorer } from '../engine/infer/choice-scoring'
import { generationEosIds, Generator } from '../engine/infer/generation'
import { contextLimit, type InferenceOptions } from '../engine/infer/model-session'
import { Scorer } from '../engine/infer/scoring'
import type { WeightsSource } from '../engine/models/weights'
import { readModelConfig, type ModelConfig } from '../engine/checkpoint/hf-config'
import { chatTemplateFor } from '../engine/tokenizer/chat-template'
import { loadTokenizer, type TextTokenizer } from '../engine/tokenizer/tokenizer'
import type { ChatTurn } from './tasks'

export interface TokenPair {
  context: number[]
  continuation: number[]
}

export class TargetEngine {
  readonly tokenizer: TextTokenizer
  readonly config: ModelConfig
  /** The longest sequence the engine scores or generates exactly. */
  readonly contextLimit: number
  /** End-of-sequence ids: the tokenizer's and generation_config.json's (chat models' end-of-turn). */
  readonly eosIds: number[]
  private choiceScorer: Promise<ChoiceScorer> | null = null
  private scorer: Promise<Scorer> | null = null
  private generator: Promise<Generator> | null = null

  constructor(
    private readonly source: WeightsSource,
    private readonly options: InferenceOptions,
    /** Prompts are rendered with the chat template, which writes its own BOS. */
    readonly chat: boolean
  ) {
    this.tokenizer = loadTokenizer(source.modelDir)
    this.config = readModelConfig(source.modelDir)
    this.contextLimit = contextLimit(this.config)
    this.eosIds = [
      ...(this.tokenizer.eos ? [this.tokenizer.eos.id] : []),
      ...generationEosIds(source.modelDir)
    ]
  }

  choices(): Promise<ChoiceScorer> {
    return (this.choiceScorer ??= ChoiceScorer.open(this.source, this.options))
  }

  rows(): Promise<Scorer> {
    return (this.scorer ??= Scorer.open(this.source, this.options))
  }

  generation(): Promise<Generator> {
    return (this.generator ??= Generator.open(this.source, { ...this.options, eosTokenIds: this.eosIds }))
  }

  /** The model's chat template (or the fallback), ending with the generation prompt. */
  renderChat = (turns: readonly ChatTurn[]): string =>
    chatTemplateFor(this.tokenizer).render(
      turns.map((turn) => ({ ...turn })),
      { addGenerationPrompt: true }
    )

  /**
   * Text as the model reads it: with the tokenizer's own special tokens (BOS for Llama-style
   * models, as in training and the score command), none when a chat template wrote them. An empty
   * text is the BOS (or EOS) alone, as lm-eval prefixes an empty context.
   */
  encode(text: string): number[] {
    const ids = this.tokenizer.encode(text, { addSpecialTokens: !this.chat })
    return ids.length > 0 ? ids : [this.prefixToken()]
  }

  /** The token a text is predicted from when nothing comes before it: BOS, else EOS (lm-eval's). */
  prefixToken(): number {
    const prefix = this.tokenizer.bos?.id ?? this.tokenizer.eos?.id ?? this.config.bosTokenId
    if (prefix === null || prefix === undefined) {
      throw new Error(`${this.tokenizer.source}: predicting a text from its start needs a BOS or EOS token`)
    }
    return prefix
  }

  /**
   * lm-eval's encoding of a (context, continuation) pair: trailing spaces of the context move to
   * the continuation, the whole text and the context are encoded, and the continuation's tokens are
   * the whole text's tokens after the context's count. So a token that spans the boundary counts as
   * the continuation's, and every choice of a question shares the context's tokens exactly.
   */
  encodePair(context: string, continuation: string): TokenPair {
    const trimmed = context.replace(/\s+$/u, '')
    const moved = context.slice(trimmed.length)
    const contextIds = this.encode(trimmed)
    const whole = this.encode(trimmed + moved + continuation)
    return { context: contextIds, continuation: whole.slice(contextIds.length) }
  }

  async release(): Promise<void> {
    const open = [this.choiceScorer, this.scorer, this.generator].filter((s) => s !== null)
    this.choiceScorer = this.scorer = this.generator = null
    await Promise.all(open.map(async (session) => (await session).release()))
  }
}
