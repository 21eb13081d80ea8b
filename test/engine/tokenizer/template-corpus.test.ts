/**
 * The chat-template corpus (test/fixtures/chat-templates/, provenance in its README): published
 * templates render a fixed set of conversations byte-identically to Python jinja2 set up as
 * transformers sets it up (golden/<template>.json, written by reference/render_chat_templates.py),
 * and the trained text of every assistant turn is pinned (golden/<template>.spans.json).
 *
 * After a deliberate change to how spans are found, rewrite the pinned spans and review the diff:
 *   UPDATE_SPANS=1 npx vitest run test/engine/tokenizer/template-corpus.test.ts
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ChatTemplate, type ChatMessage } from '../../../src-main/engine/tokenizer/chat-template'
import { renderTrainingSequences } from '../../../src-main/engine/tokenizer/assistant-spans'
import { templateDrops } from '../../../src-main/engine/tokenizer/template-drops'

const corpusDir = 'test/fixtures/chat-templates'

interface TemplateEntry {
  specialTokens: Record<string, string>
  endOfTurnMarkers: string[]
  variants: Record<string, unknown>[]
}

interface Conversation {
  name: string
  messages: ChatMessage[]
  tools?: boolean
}

interface GoldenCase {
  conversation: string
  variables: Record<string, unknown>
  addGenerationPrompt: boolean
  text?: string
  error?: string
}

interface PinnedSpans {
  conversation: string
  variables: Record<string, unknown>
  trained?: { message: number; text: string }[][]
  drops?: string[]
  error?: string
}

const readCorpusJson = <T>(name: string): T => JSON.parse(readFileSync(join(corpusDir, name), 'utf8')) as T

const templates = readCorpusJson<Record<string, TemplateEntry>>('templates.json')
const corpus = readCorpusJson<{ tools: unknown[]; conversations: Conversation[] }>('conversations.json')
const conversationNamed = new Map(corpus.conversations.map((c) => [c.name, c]))

/**
 * The reference renders with strftime_now at a fixed moment (26 Jul 2024, 12:00 local time).
 * @huggingface/jinja's own strftime_now reads the clock and cannot be replaced by a template
 * variable ("Variable already declared"), so the clock is stopped at that moment instead.
 */
const REFERENCE_MOMENT = new Date(2024, 6, 26, 12, 0, 0)

function renderOptions(goldenCase: GoldenCase) {
  const conversation = conversationNamed.get(goldenCase.conversation)
  if (!conversation) throw new Error(`golden case names an unknown conversation ${goldenCase.conversation}`)
  return {
    messages: conversation.messages,
    tools: conversation.tools ? corpus.tools : null,
    variables: goldenCase.variables
  }
}

const caseLabel = (c: { conversation: string; variables: Record<string, unknown> }): string =>
  Object.keys(c.variables).length ? `${c.conversation} ${JSON.stringify(c.variables)}` : c.conversation

function trainedSpans(name: string, template: ChatTemplate, golden: GoldenCase[]): PinnedSpans[] {
  return golden
    .filter((c) => !c.addGenerationPrompt && c.error === undefined)
    .map((c) => {
      const { messages, tools, variables } = renderOptions(c)
      const pinned = { conversation: c.conversation, variables: c.variables }
      try {
        const sequences = renderTrainingSequences(template, messages, {
          tools,
          variables,
          endOfTurnMarkers: templates[name].endOfTurnMarkers
        })
        const drops = templateDrops(messages, sequences).map((drop) => drop.detail)
        return {
          ...pinned,
          // Each sequence the conversation trains as: its trained turns, as text a reviewer can read.
          trained: sequences.map(({ text, spans }) =>
            spans.map((s) => ({ message: s.messageIndex, text: text.slice(s.start, s.end) }))
          ),
          ...(drops.length > 0 ? { drops } : {})
        }
      } catch (error) {
        return { ...pinned, error: (error as Error).message }
      }
    })
}

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(REFERENCE_MOMENT)
})
afterAll(() => vi.useRealTimers())

describe.each(Object.keys(templates))('chat template %s', (name) => {
  const entry = templates[name]
  const template = new ChatTemplate(
    readFileSync(join(corpusDir, `${name}.jinja`), 'utf8'),
    entry.specialTokens,
    name
  )
  const golden = readCorpusJson<{ cases: GoldenCase[] }>(`golden/${name}.json`).cases
  const spansFile = join(corpusDir, 'golden', `${name}.spans.json`)

  const labelled = golden.map((c) => ({
    ...c,
    label: `${caseLabel(c)}${c.addGenerationPrompt ? ' + generation prompt' : ''}`
  }))
  for (const goldenCase of labelled) {
    const { label } = goldenCase
    const render = () => {
      const { messages, tools, variables } = renderOptions(goldenCase)
      return template.render(messages, {
        tools,
        variables,
        addGenerationPrompt: goldenCase.addGenerationPrompt
      })
    }
    if (goldenCase.error !== undefined) {
      it(`raises as jinja2 does: ${label}`, () => expect(render).toThrow())
    } else {
      it(`renders as jinja2 does: ${label}`, () => expect(render()).toBe(goldenCase.text))
    }
  }

  it('trains the pinned text of each assistant turn', () => {
    const computed = { template: name, spans: trainedSpans(name, template, golden) }
    if (process.env.UPDATE_SPANS) writeFileSync(spansFile, JSON.stringify(computed, null, 2) + '\n')
    expect(computed).toEqual(JSON.parse(readFileSync(spansFile, 'utf8')))
  })
})
