/**
 * Fields read through paths and templates, the checks a mapping must pass, and detection of the
 * formats that have no real file in ../shared/datasets (TRL's types, LLaMA-Factory v1, HF MMLU).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { importFile } from '../../src-main/datasets/import'
import { templateColumns, valueAtPath } from '../../src-main/datasets/import-fields'
import { checkMapping, columnsRead, detectMapping } from '../../src-main/datasets/import-mapping'
import { previewImport } from '../../src-main/datasets/import-preview'
import { normaliseRow } from '../../src-main/datasets/normalise'
import type { ImportMapping } from '../../src-preload/contract'
import { makeTempDir, openTempStore } from '../store/helpers'
import { importRequest } from './import-helpers'

const detect = (rows: Record<string, unknown>[]) => {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))]
  return detectMapping(columns, rows)
}

describe('paths into nested columns', () => {
  const row = { question: { stem: 'Why?', choices: [{ text: 'because' }] }, 'a.b': 1, a: { b: 2 } }

  it('follow objects by key and lists by index', () => {
    expect(valueAtPath(row, 'question.stem')).toBe('Why?')
    expect(valueAtPath(row, 'question.choices.0.text')).toBe('because')
    expect(valueAtPath(row, 'question.choices.1.text')).toBeUndefined()
    expect(valueAtPath(row, 'question.stem.length')).toBeUndefined()
  })

  it('read a column whose own name has a dot as that column', () => {
    expect(valueAtPath(row, 'a.b')).toBe(1)
  })

  it('feed a field, the top-level column counting as read', () => {
    const mapping: ImportMapping = {
      format: 'prompt-completion',
      columns: { prompt: 'question.stem', completion: 'question.choices.0.text' }
    }
    expect(columnsRead(mapping)).toEqual(new Set(['question', 'question.stem', 'question.choices.0.text']))
    const conversation = normaliseRow({ ...row, id: 7 }, mapping)
    expect(conversation.messages.map((m) => m.content)).toEqual(['Why?', 'because'])
    expect(conversation.metadata).toEqual({ 'a.b': 1, a: { b: 2 }, id: 7 })
  })

  it('that lead nowhere say which path is missing', () => {
    const mapping: ImportMapping = {
      format: 'prompt-completion',
      columns: { prompt: 'question.body', completion: 'a.b' }
    }
    expect(() => normaliseRow(row, mapping)).toThrow('column "question.body" is missing')
  })
})

describe('templates', () => {
  it('read the columns their expressions name, not their own loop variables, attributes or filters', () => {
    const source =
      '{{ question.stem }}{% for choice in question.choices %}{{ choice.text | upper }}{{ loop.index }}{% endfor %}' +
      '{% set n = answer | int %}{{ labels[n] }}{{ extra | default(fallback) }}'
    expect(templateColumns(source).sort()).toEqual(['answer', 'extra', 'fallback', 'labels', 'question'])
  })

  it('compose a field, and fail on a row they do not fit naming the field and the problem', () => {
    const mapping: ImportMapping = {
      format: 'prompt-completion',
      columns: { completion: 'answer' },
      templates: { prompt: '{{ q }} ({{ unit }})' }
    }
    const conversation = normaliseRow({ q: 'How far?', unit: 'km', answer: '3', id: 1 }, mapping)
    expect(conversation.messages[0].content).toBe('How far? (km)')
    expect(conversation.metadata).toEqual({ id: 1 })
    expect(() => normaliseRow({ q: 'How far?', answer: '3' }, mapping)).toThrow(
      `the template for "prompt" fails on this row: 'unit' is undefined`
    )
  })

  it('that fail make bad rows with the file and line', async () => {
    const file = join(makeTempDir(), 'quiz.jsonl')
    writeFileSync(file, '{"q": "a", "unit": "m", "answer": "1"}\n{"q": "b", "answer": "2"}\n')
    const mapping: ImportMapping = {
      format: 'prompt-completion',
      columns: { completion: 'answer' },
      templates: { prompt: '{{ q }} ({{ unit }})' }
    }
    const outcome = await importFile(openTempStore(), importRequest(file, mapping, { onBadRows: 'skip' }), {
      readInThisThread: true
    })
    expect(outcome.ok).toBe(true)
    expect(outcome.badRows).toEqual([
      { file, line: 2, reason: `the template for "prompt" fails on this row: 'unit' is undefined` }
    ])
  })
})

describe('checkMapping', () => {
  it('refuses one column feeding two fields, naming the column and both fields', () => {
    expect(
      checkMapping({ format: 'prompt-completion', columns: { prompt: 'text', completion: 'text' } })
    ).toBe(
      'column "text" is mapped to both "prompt" and "completion": one column may feed only one field (use a template to use it twice)'
    )
  })

  it('lets a template use a column any number of times, and a template fill a required field', () => {
    expect(
      checkMapping({
        format: 'prompt-completion',
        columns: { prompt: 'text', completion: 'text' },
        templates: { completion: '{{ text }} {{ text }}' }
      })
    ).toBeNull()
    expect(
      checkMapping({
        format: 'prompt-completion',
        columns: { prompt: 'q' },
        templates: { completion: '{{ a }}' }
      })
    ).toBeNull()
  })

  it('names the field of a template that does not parse', () => {
    expect(
      checkMapping({
        format: 'prompt-completion',
        columns: { completion: 'a' },
        templates: { prompt: '{{ q. }}' }
      })
    ).toMatch(/^the template for "prompt": cannot parse the template: /)
  })
})

describe('detection of the other formats', () => {
  it('takes rows of text (with metadata) as raw text for continued pre-training', () => {
    const result = detect([{ text: 'Once upon a time', id: 3, url: 'https://example.org' }])
    expect(result.mapping).toEqual({ format: 'text', columns: { text: 'text' } })
    expect(result.notes).toEqual([
      'TRL language modeling: "text" is raw text for continued pre-training (every token is trained)',
      'kept as metadata: "id", "url"'
    ])
  })

  it('reads the unpaired preference label with prompt and completion', () => {
    const result = detect([{ prompt: 'Hi', completion: 'Go away', label: false }])
    expect(result.mapping).toEqual({
      format: 'prompt-completion',
      columns: { prompt: 'prompt', completion: 'completion', label: 'label' }
    })
    expect(result.notes[0]).toMatch(
      /^TRL unpaired preference \(KTO\): "prompt" and "completion" with "label"/
    )
  })

  it('keeps a label that is not true/false as metadata: a class is not a preference', () => {
    const result = detect([{ prompt: 'Great film', completion: 'Review noted.', label: 'positive' }])
    expect(result.mapping?.columns.label).toBeUndefined()
    expect(result.notes).toEqual(['TRL prompt-completion rows', 'kept as metadata: "label"'])
  })

  it('names conversational prompt/completion rows', () => {
    const result = detect([
      {
        prompt: [{ role: 'user', content: 'Hi' }],
        completion: [{ role: 'assistant', content: 'Hello' }]
      }
    ])
    expect(result.mapping?.format).toBe('prompt-completion')
    expect(result.notes[0]).toBe(
      'TRL conversational prompt-completion: message lists in "prompt" and "completion"'
    )
  })

  it('tells an explicit preference prompt from an implicit one', () => {
    const chat = (answer: string) => [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: answer }
    ]
    expect(detect([{ prompt: 'Hi', chosen: 'Hello', rejected: 'Go' }]).notes[0]).toBe(
      'TRL preference, explicit prompt: "chosen" and "rejected" completions after the prompt in "prompt"'
    )
    expect(detect([{ chosen: chat('Hello'), rejected: chat('Go') }]).notes[0]).toBe(
      'TRL preference, implicit prompt: "chosen" and "rejected" are whole conversations sharing their prompt'
    )
  })

  it('maps LLaMA-Factory v1 preference columns to chosen and rejected', () => {
    const chat = (answer: string) => [
      { role: 'user', content: [{ type: 'text', value: 'Hi' }] },
      { role: 'assistant', content: [{ type: 'text', value: answer }] }
    ]
    const row = { chosen_messages: chat('Hello'), rejected_messages: chat('Go') }
    const { mapping, notes } = detect([row])
    expect(mapping).toEqual({
      format: 'preference',
      columns: { chosen: 'chosen_messages', rejected: 'rejected_messages' }
    })
    expect(notes[0]).toMatch(/^LLaMA-Factory v1 preference pairs/)
    expect(normaliseRow(row, mapping!).rejected).toEqual([{ role: 'assistant', content: 'Go' }])
  })

  it('composes Hugging Face MMLU rows (a list of choices, an integer answer)', () => {
    const row = {
      question: 'Two plus two?',
      subject: 'arithmetic',
      choices: ['3', '4', '5', '22'],
      answer: 1
    }
    const { mapping, fieldChoices } = detect([row])
    const conversation = normaliseRow(row, mapping!)
    expect(conversation.messages.map((m) => m.content)).toEqual([
      'Two plus two?\nA. 3\nB. 4\nC. 5\nD. 22',
      'B. 4'
    ])
    expect(conversation.metadata).toEqual({ subject: 'arithmetic' })
    expect(fieldChoices.find((c) => c.field === 'completion')?.alternatives).toEqual([
      { column: 'answer', why: expect.stringMatching(/^the bare answer as the file holds it \(1\)/) }
    ])
    expect(() => normaliseRow({ ...row, answer: 9 }, mapping!)).toThrow(
      `the template for "completion" fails on this row: 'choices[i]' is undefined`
    )
  })

  it('never takes a bare answer silently when there are no choices to spell it out', () => {
    const { mapping, notes, fieldChoices } = detect([
      { question: 'Pick one', answer: '2' },
      { question: 'And now?', answer: 'C' }
    ])
    expect(mapping?.columns.completion).toBe('answer')
    expect(notes[1]).toMatch(/^"answer" holds bare answers such as "2", not their text/)
    expect(fieldChoices[1].why).toMatch(/holds a bare answer \("2"\), not its text: check it$/)
  })

  it('takes a .txt file as raw text', async () => {
    const file = join(makeTempDir(), 'notes.txt')
    writeFileSync(file, 'First paragraph.\n\nSecond paragraph.\n')
    const result = await previewImport({
      file,
      fileType: 'auto',
      format: 'auto',
      limit: 5,
      textUnit: 'paragraph'
    })
    expect(result.fileType).toBe('txt')
    expect(result.detected).toEqual({ format: 'text', columns: { text: 'text' } })
    expect(result.rows.map((row) => row.raw)).toEqual([
      { text: 'First paragraph.' },
      { text: 'Second paragraph.' }
    ])
  })
})
