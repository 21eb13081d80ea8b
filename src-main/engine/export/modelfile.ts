/**
 * An Ollama Modelfile for an exported GGUF: `FROM` the file, a `TEMPLATE` in Ollama's Go-template
 * syntax for the model's chat format, and `PARAMETER stop` for its end-of-turn tokens. Ollama does
 * not run the Jinja chat template the GGUF carries, so the format is recognised from it and
 * written out in Go-template form. Known formats:
 *
 * - Llama 3 headers: `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>` (Llama 3, 3.1, 3.2);
 * - ChatML: `<|im_start|>role\n…<|im_end|>` (Qwen2, Qwen2.5, Qwen3 and many fine-tunes);
 * - anything else, or no chat template (base models such as stories260K): the prompt as it is,
 *   so `ollama run` continues the text; a comment in the file says the template was not known.
 *
 * llama.cpp adds the BOS token when the GGUF says add_bos_token (the tokenizer adds it); when it
 * does not but the chat template writes `bos_token`, the TEMPLATE starts with it.
 */
import type { TextTokenizer } from '../tokenizer/tokenizer'

export type ChatFormat = 'llama3' | 'chatml' | 'plain'

interface FormatSpec {
  template: string
  stops: string[]
}

const FORMATS: Record<ChatFormat, FormatSpec> = {
  llama3: {
    template:
      '{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n' +
      '{{ .Content }}<|eot_id|>\n{{- end }}<|start_header_id|>assistant<|end_header_id|>\n\n',
    stops: ['<|eot_id|>', '<|start_header_id|>']
  },
  chatml: {
    template:
      '{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n',
    stops: ['<|im_end|>', '<|im_start|>']
  },
  plain: { template: '{{ .Prompt }}', stops: [] }
}

/** The chat format a Jinja chat template writes, or 'plain' when none is recognised. */
export function chatFormatOf(chatTemplate: string | null): ChatFormat {
  if (!chatTemplate) return 'plain'
  if (chatTemplate.includes('<|start_header_id|>') && chatTemplate.includes('<|eot_id|>')) return 'llama3'
  if (chatTemplate.includes('<|im_start|>') && chatTemplate.includes('<|im_end|>')) return 'chatml'
  return 'plain'
}

/**
 * The Modelfile text. `from` is what FROM names (the GGUF's path, usually relative to the
 * Modelfile: `./model.gguf`); `tokenizer` is the model's (loadTokenizer(modelDir)).
 */
export function ollamaModelfile(options: {
  from: string
  tokenizer: Pick<TextTokenizer, 'chatTemplate' | 'bos' | 'addsBos'>
}): string {
  const { chatTemplate, bos, addsBos } = options.tokenizer
  const format = chatFormatOf(chatTemplate)
  const { template, stops } = FORMATS[format]
  const lines = [`FROM ${options.from}`]
  if (format === 'plain' && chatTemplate) {
    lines.push("# The model's chat template is not one this export knows: prompts are passed as they are.")
  }
  const writesBos = format !== 'plain' && bos !== null && !addsBos && chatTemplate?.includes('bos_token')
  lines.push(`TEMPLATE """${writesBos ? bos.text : ''}${template}"""`)
  for (const stop of stops) lines.push(`PARAMETER stop ${JSON.stringify(stop)}`)
  return lines.join('\n') + '\n'
}
