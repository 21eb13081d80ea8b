/**
 * A model's tokenizer: `tokenizer.json` (the fast-tokenizer pipeline, run by @huggingface/tokenizers)
 * plus `tokenizer_config.json` (special tokens, bos/eos policy, chat template).
 *
 * Special tokens follow transformers: `encode(text)` adds them the way the model's tokenizer
 * would, `encode(text, { addSpecialTokens: false })` never does. Where tokenizer_config.json sets
 * `add_bos_token` / `add_eos_token` explicitly, those decide (as LlamaTokenizerFast rebuilds its
 * post-processor from them); otherwise tokenizer.json's post-processor decides.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Tokenizer } from '@huggingface/tokenizers'

/** tokenizer_config.json, as far as we read it. Special tokens may be strings or AddedToken objects. */
export interface TokenizerConfigJson {
  bos_token?: unknown
  eos_token?: unknown
  pad_token?: unknown
  unk_token?: unknown
  add_bos_token?: unknown
  add_eos_token?: unknown
  chat_template?: unknown
  [key: string]: unknown
}

export interface EncodeOptions {
  /** Add bos/eos as the model's tokenizer does (default true). Chat-template text carries its own. */
  addSpecialTokens?: boolean
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean
}

interface SpecialToken {
  text: string
  id: number
}

export class TextTokenizer {
  /** Where the tokenizer came from, for error messages. */
  readonly source: string
  readonly bos: SpecialToken | null
  readonly eos: SpecialToken | null
  readonly pad: SpecialToken | null
  readonly unk: SpecialToken | null
  /** The model's own chat template source (the "default" one when several are named), or null. */
  readonly chatTemplate: string | null
  /** Named chat templates, e.g. "default" and "tool_use", when tokenizer_config.json lists several. */
  readonly namedChatTemplates: Readonly<Record<string, string>>
  /** Token strings of all special added tokens (bos, eos, end-of-turn markers, …). */
  readonly specialTokens: readonly string[]
  readonly vocabSize: number
  /** Whether `encode(text)` puts a bos token first. */
  readonly addsBos: boolean
  private readonly tokenizer: Tokenizer
  private readonly explicitAddBos: boolean | null
  private readonly explicitAddEos: boolean | null
  private readonly specialIds: ReadonlySet<number>

  constructor(
    tokenizerJson: unknown,
    config: TokenizerConfigJson,
    source: string,
    chatTemplateFile: string | null = null
  ) {
    this.source = source
    try {
      this.tokenizer = new Tokenizer(tokenizerJson as object, config)
    } catch (error) {
      throw new Error(`tokenizer ${source}: cannot build the tokenizer: ${(error as Error).message}`)
    }
    const special = (key: 'bos_token' | 'eos_token' | 'pad_token' | 'unk_token'): SpecialToken | null => {
      const text = specialTokenText(config[key])
      if (text === null) return null
      const id = this.tokenizer.token_to_id(text)
      if (id === undefined) {
        throw new Error(`tokenizer ${source}: ${key} ${JSON.stringify(text)} is not in the vocabulary`)
      }
      return { text, id }
    }
    this.bos = special('bos_token')
    this.eos = special('eos_token')
    this.pad = special('pad_token')
    this.unk = special('unk_token')
    this.explicitAddBos = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : null
    this.explicitAddEos = typeof config.add_eos_token === 'boolean' ? config.add_eos_token : null
    this.addsBos = this.bos !== null && this.encode('x')[0] === this.bos.id

    const added = [...this.tokenizer.get_added_tokens_decoder().values()].filter((token) => token.special)
    this.specialTokens = added.map((token) => token.content)
    this.specialIds = new Set(added.map((token) => token.id))
    this.vocabSize = this.tokenizer.get_vocab(true).size

    this.namedChatTemplates = namedTemplates(config.chat_template, source)
    this.chatTemplate = chatTemplateFile ?? this.namedChatTemplates.default ?? null
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const addSpecialTokens = options.addSpecialTokens ?? true
    if (!addSpecialTokens) return this.tokenizer.encode(text, { add_special_tokens: false }).ids
    if (this.explicitAddBos === null && this.explicitAddEos === null) {
      return this.tokenizer.encode(text, { add_special_tokens: true }).ids
    }
    const ids = this.tokenizer.encode(text, { add_special_tokens: false }).ids
    if (this.explicitAddBos && this.bos) ids.unshift(this.bos.id)
    if (this.explicitAddEos && this.eos) ids.push(this.eos.id)
    return ids
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (ids.length === 0) return ''
    return this.tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false })
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token)
  }

  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id)
  }

  isSpecialId(id: number): boolean {
    return this.specialIds.has(id)
  }
}

function specialTokenText(value: unknown): string | null {
  if (typeof value === 'string') return value
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { content?: unknown }).content === 'string'
  ) {
    return (value as { content: string }).content
  }
  return null
}

/** `chat_template` is a string, or a list of {name, template} (transformers ≥ 4.43 for tool-use variants). */
function namedTemplates(value: unknown, source: string): Record<string, string> {
  if (value === undefined || value === null) return {}
  if (typeof value === 'string') return { default: value }
  if (Array.isArray(value)) {
    const templates: Record<string, string> = {}
    for (const item of value) {
      const { name, template } = (item ?? {}) as { name?: unknown; template?: unknown }
      if (typeof name !== 'string' || typeof template !== 'string') {
        throw new Error(
          `tokenizer ${source}: chat_template entries must be {name, template} strings, got ${JSON.stringify(item)}`
        )
      }
      templates[name] = template
    }
    return templates
  }
  throw new Error(
    `tokenizer ${source}: chat_template must be a string or a list, got ${JSON.stringify(value)}`
  )
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new Error(`loadTokenizer: cannot read ${path}: ${(error as Error).message}`)
  }
}

/**
 * Loads the tokenizer of an HF model folder: tokenizer.json (required), tokenizer_config.json
 * (optional), and chat_template.jinja, which newer transformers versions write instead of
 * embedding the template in tokenizer_config.json.
 */
export function loadTokenizer(dir: string): TextTokenizer {
  const tokenizerPath = join(dir, 'tokenizer.json')
  if (!existsSync(tokenizerPath)) throw new Error(`loadTokenizer: ${dir} has no tokenizer.json`)
  const configPath = join(dir, 'tokenizer_config.json')
  const config = existsSync(configPath) ? readJson(configPath) : {}
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new Error(`loadTokenizer: ${configPath} is not a JSON object`)
  }
  const templatePath = join(dir, 'chat_template.jinja')
  const templateFile = existsSync(templatePath) ? readFileSync(templatePath, 'utf8') : null
  return new TextTokenizer(readJson(tokenizerPath), config as TokenizerConfigJson, dir, templateFile)
}
