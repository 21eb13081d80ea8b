/**
 * format_check: the R1-style answer format, `<think>…</think>` then `<answer>…</answer>` and nothing
 * else (whitespace around and between the blocks is allowed). The tag names are parameters; an
 * empty thinking tag asks for the answer block alone.
 */
import type { RewardFunction } from './types'

const TAG_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/u

export function checkTagName(name: string): void {
  if (!TAG_NAME.test(name)) throw new Error('a tag name is a letter then letters, digits, _ or -')
}

/** The block `<tag>…</tag>` at the start of `text` (after whitespace): its content and the rest, or why not. */
export function leadingBlock(
  text: string,
  tag: string
): { content: string; rest: string } | { missing: string } {
  const open = `<${tag}>`
  const close = `</${tag}>`
  const start = text.trimStart()
  if (!start.startsWith(open)) return { missing: `does not start with ${open}` }
  const end = start.indexOf(close, open.length)
  if (end < 0) return { missing: `${open} is never closed` }
  const content = start.slice(open.length, end)
  if (content.includes(open)) return { missing: `${open} opens twice` }
  return { content, rest: start.slice(end + close.length) }
}

/** Whether the completion is exactly the thinking block (if asked) then the answer block; why not. */
export function checkFormat(completion: string, thinkTag: string, answerTag: string): string | null {
  let rest = completion
  if (thinkTag !== '') {
    const think = leadingBlock(rest, thinkTag)
    if ('missing' in think) return think.missing
    rest = think.rest
  }
  const answer = leadingBlock(rest, answerTag)
  if ('missing' in answer) return thinkTag === '' ? answer.missing : `after </${thinkTag}>: ${answer.missing}`
  if (answer.content.trim() === '') return `the ${answerTag} block is empty`
  if (answer.rest.trim() !== '') return `text follows </${answerTag}>`
  return null
}

export const formatCheck: RewardFunction = {
  name: 'format_check',
  title: 'Format check',
  description:
    '1 when the whole completion is <think>…</think> followed by a non-empty <answer>…</answer> (whitespace ' +
    'around the blocks allowed), else 0. Tag names are parameters.',
  paper: null,
  params: [
    {
      name: 'think_tag',
      type: 'text',
      default: 'think',
      maxLength: 40,
      description: 'the reasoning block’s tag (empty: no reasoning block expected)',
      check: (name) => {
        if (name !== '') checkTagName(name)
      }
    },
    {
      name: 'answer_tag',
      type: 'text',
      default: 'answer',
      maxLength: 40,
      description: 'the answer block’s tag',
      check: checkTagName
    }
  ],
  score(input, params) {
    const problem = checkFormat(input.completion, String(params.think_tag), String(params.answer_tag))
    return problem === null ? { value: 1 } : { value: 0, reason: problem }
  }
}
