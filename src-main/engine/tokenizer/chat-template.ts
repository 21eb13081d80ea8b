/**
 * Chat templates rendered with @huggingface/jinja the way transformers' `apply_chat_template`
 * renders them: variables `messages`, `tools` (None when absent), `documents`,
 * `add_generation_prompt`, the special tokens (`bos_token`, `eos_token`, …) and extra template
 * variables (e.g. Qwen3's `enable_thinking`); globals `raise_exception` and `strftime_now` (which
 * @huggingface/jinja defines itself and does not let us redefine); blocks
 * trimmed (`trim_blocks`, `lstrip_blocks`), as transformers configures its jinja environment.
 * Operations the two Jinja implementations evaluate differently are rewritten to jinja2's
 * semantics (python-semantics.ts).
 */
import { Template } from '@huggingface/jinja'
import { budgetedRange } from '../../shared/template-range'
import { applyPythonSemantics, PYTHON_SEMANTICS } from './python-semantics'
import type { TextTokenizer } from './tokenizer'

export interface ChatMessage {
  role: string
  content: string
  /** Scales this turn's loss; 0 leaves it untrained. Only assistant turns are trained. */
  loss_weight?: number
  reasoning_content?: string
  tool_calls?: unknown[]
  [key: string]: unknown
}

export interface ChatRenderOptions {
  addGenerationPrompt?: boolean
  tools?: readonly unknown[] | null
  /** Extra template variables, e.g. `{ enable_thinking: false }`. */
  variables?: Record<string, unknown>
}

/**
 * For models without a chat template (stories260K has none): plain "User:"/"Assistant:" turns, bos
 * at the start and eos closing each assistant turn, so a base model learns to stop.
 *
 *   <s>System text\n\nUser: Hi\nAssistant: Hello!</s>User: Bye\nAssistant: Bye!</s>
 *
 * The generation prompt is "Assistant:" without the space: the space starts the assistant's own
 * text. With SentencePiece-style vocabularies a word's leading space belongs to the word's token
 * ("▁Hello"), so the prompt ends on a token boundary and the trained span starts on one.
 */
export const FALLBACK_CHAT_TEMPLATE =
  '{{ bos_token }}' +
  '{% for message in messages %}' +
  "{% if message.role == 'system' %}{{ message.content + '\\n\\n' }}" +
  "{% elif message.role == 'user' %}{{ 'User: ' + message.content + '\\n' }}" +
  "{% elif message.role == 'assistant' %}{{ 'Assistant: ' + message.content + eos_token }}" +
  "{% else %}{{ raise_exception('the fallback chat template has no role ' + message.role) }}" +
  '{% endif %}' +
  '{% endfor %}' +
  "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"

export class ChatTemplate {
  readonly source: string
  /** "default", "tool_use", or "fallback" for FALLBACK_CHAT_TEMPLATE. */
  readonly name: string
  private readonly template: Template
  private readonly specialTokens: Record<string, string>

  constructor(source: string, specialTokens: Record<string, string>, name = 'default') {
    this.source = source
    this.name = name
    this.specialTokens = specialTokens
    try {
      this.template = new Template(source)
    } catch (error) {
      throw new Error(`chat template (${name}): cannot parse: ${(error as Error).message}`)
    }
    applyPythonSemantics(this.template.parsed)
  }

  get isFallback(): boolean {
    return this.name === 'fallback'
  }

  render(messages: readonly ChatMessage[], options: ChatRenderOptions = {}): string {
    try {
      return this.template.render({
        ...this.specialTokens,
        ...options.variables,
        messages,
        tools: options.tools ?? null,
        documents: null,
        add_generation_prompt: options.addGenerationPrompt ?? false,
        ...PYTHON_SEMANTICS,
        __fs_range: budgetedRange()
      })
    } catch (error) {
      throw new Error(`chat template (${this.name}): ${(error as Error).message}`)
    }
  }
}

/**
 * The tokenizer's chat template, or FALLBACK_CHAT_TEMPLATE when it has none. With `forTools`,
 * a template named "tool_use" is preferred when the tokenizer has one (as transformers does when
 * tools are passed).
 */
export function chatTemplateFor(
  tokenizer: TextTokenizer,
  options: { forTools?: boolean } = {}
): ChatTemplate {
  const key = options.forTools ? 'tools' : 'plain'
  const cached = compiledTemplates.get(tokenizer)?.[key]
  if (cached) return cached
  const template = compileTemplateFor(tokenizer, options.forTools ?? false)
  compiledTemplates.set(tokenizer, { ...compiledTemplates.get(tokenizer), [key]: template })
  return template
}

/** Parsing a template takes longer than rendering it: one compiled template per tokenizer and kind. */
const compiledTemplates = new WeakMap<TextTokenizer, { plain?: ChatTemplate; tools?: ChatTemplate }>()

function compileTemplateFor(tokenizer: TextTokenizer, forTools: boolean): ChatTemplate {
  const specials: Record<string, string> = {}
  if (tokenizer.bos) specials.bos_token = tokenizer.bos.text
  if (tokenizer.eos) specials.eos_token = tokenizer.eos.text
  if (tokenizer.pad) specials.pad_token = tokenizer.pad.text
  if (tokenizer.unk) specials.unk_token = tokenizer.unk.text
  const toolTemplate = forTools ? tokenizer.namedChatTemplates.tool_use : undefined
  if (toolTemplate) return new ChatTemplate(toolTemplate, specials, 'tool_use')
  if (tokenizer.chatTemplate) return new ChatTemplate(tokenizer.chatTemplate, specials, 'default')
  return new ChatTemplate(FALLBACK_CHAT_TEMPLATE, { bos_token: '', eos_token: '', ...specials }, 'fallback')
}
