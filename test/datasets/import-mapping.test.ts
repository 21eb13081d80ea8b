/**
 * Import detection on the real files in ../shared/datasets (ARC, MMLU CSV, MATH-500, GSM8K): the
 * mapping chosen, what fieldChoices says and offers, and the rows normalised with it.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { importFile } from '../../src-main/datasets/import'
import { previewImport } from '../../src-main/datasets/import-preview'
import { normaliseRow } from '../../src-main/datasets/normalise'
import type { ImportFieldChoice, ImportMapping, ImportPreview } from '../../src-preload/contract'
import { SHARED_DIR } from '../helpers/temp'
import { openTempStore } from '../store/helpers'
import { importRequest } from './import-helpers'

const DATASETS = join(SHARED_DIR, 'datasets')

function preview(file: string, mapping?: ImportMapping): Promise<ImportPreview> {
  return previewImport({ file: join(DATASETS, file), fileType: 'auto', format: 'auto', mapping, limit: 20 })
}

function choiceOf(result: ImportPreview, field: ImportFieldChoice['field']): ImportFieldChoice {
  const choice = result.fieldChoices.find((c) => c.field === field)
  if (!choice) throw new Error(`no field choice for ${field}`)
  return choice
}

/** The mapping with one field switched to an alternative, as the import dialog's buttons do. */
function withAlternative(mapping: ImportMapping, choice: ImportFieldChoice, index: number): ImportMapping {
  const alternative = choice.alternatives[index]
  const columns = { ...mapping.columns }
  const templates = { ...mapping.templates }
  delete columns[choice.field]
  delete templates[choice.field]
  if (alternative.template !== undefined) templates[choice.field] = alternative.template
  else columns[choice.field] = alternative.column
  return { format: mapping.format, columns, templates }
}

function turns(result: ImportPreview, row = 0): string[] {
  const conversation = result.rows[row].conversation
  if (!conversation) throw new Error(`row ${row} did not normalise: ${result.rows[row].error}`)
  return conversation.messages.map((m) => `${m.role}: ${m.content}`)
}

describe('ARC (nested question with labelled choices)', () => {
  it('composes the prompt from question.stem and its lettered choices, the completion from answerKey', async () => {
    const result = await preview('arc/arc_easy_dev.jsonl')
    expect(result.detected?.format).toBe('prompt-completion')
    expect(result.rows.every((row) => row.error === null)).toBe(true)
    expect(turns(result)).toEqual([
      'user: Which technology was developed most recently?\nA. cellular telephone\nB. television\nC. refrigerator\nD. airplane',
      'assistant: A. cellular telephone'
    ])
    // The id is kept; the question and answerKey are read by the templates.
    expect(result.rows[0].conversation?.metadata).toEqual({ id: 'MCAS_2000_4_6' })
    expect(result.notes[0]).toMatch(/^multiple choice \(ARC layout/)
  })

  it('says why it composed each field and offers the stem alone and the bare answer key', async () => {
    const result = await preview('arc/arc_easy_dev.jsonl')
    const prompt = choiceOf(result, 'prompt')
    expect(prompt.chosen.template).toContain('question.stem')
    expect(prompt.why).toMatch(/choices as "A\. …" lines/)
    expect(prompt.alternatives).toEqual([
      { column: 'question.stem', why: 'the question alone, without its choices' }
    ])
    const completion = choiceOf(result, 'completion')
    expect(completion.chosen.template).toBeDefined()
    expect(completion.alternatives).toEqual([
      { column: 'answerKey', why: expect.stringMatching(/^the bare answer as the file holds it \("A"\)/) }
    ])
  })

  it('reads a nested path when the user picks the alternative', async () => {
    const detected = await preview('arc/arc_easy_dev.jsonl')
    const mapping = withAlternative(detected.mapping!, choiceOf(detected, 'prompt'), 0)
    const result = await preview('arc/arc_easy_dev.jsonl', mapping)
    expect(turns(result)).toEqual([
      'user: Which technology was developed most recently?',
      'assistant: A. cellular telephone'
    ])
  })

  it('handles answer keys that are digits, as the file labels some choices 1-4', async () => {
    const result = await previewImport({
      file: join(DATASETS, 'arc/arc_easy_dev.jsonl'),
      fileType: 'jsonl',
      format: 'auto',
      limit: 200
    })
    const numbered = result.rows.find((row) => (row.raw as { answerKey: string }).answerKey === '1')
    expect(numbered?.conversation?.messages[1].content).toMatch(/^1\. /)
    expect(result.rows.every((row) => row.error === null)).toBe(true)
  })
})

describe('MMLU as shipped here (question, choice0..choice3, answer 0-3)', () => {
  it('letters the choices in the prompt and spells the answer out, offering the bare index', async () => {
    const result = await preview('mmlu/dev/abstract_algebra_dev.csv')
    expect(result.rows.every((row) => row.error === null)).toBe(true)
    expect(turns(result)).toEqual([
      'user: Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\nB. 1\nC. 2\nD. 3',
      'assistant: B. 1'
    ])
    const completion = choiceOf(result, 'completion')
    expect(completion.chosen.template).toMatch(/choice0, choice1, choice2, choice3/)
    expect(completion.alternatives).toEqual([
      { column: 'answer', why: expect.stringMatching(/^the bare answer as the file holds it \("1"\)/) }
    ])
    expect(result.notes[0]).toMatch(/"choice0", "choice1", "choice2", "choice3"/)
  })
})

describe('MATH-500 (problem, solution, answer)', () => {
  it('trains on the worked solution, says why, and offers the bare answer', async () => {
    const result = await preview('math500/test.jsonl')
    expect(result.mapping?.columns).toMatchObject({ prompt: 'problem', completion: 'solution' })
    const completion = choiceOf(result, 'completion')
    expect(completion.why).toMatch(/worked solution, which ends in the answer/)
    expect(result.notes[1]).toMatch(
      /^"solution" is the completion, not "answer": the worked solution ends in the answer/
    )
    expect(completion.alternatives[0]).toEqual({
      column: 'answer',
      why: expect.stringMatching(/^the final answer alone \(.+\): trains answering without the working$/)
    })
    const conversation = result.rows[0].conversation!
    expect(conversation.messages[1].content).toMatch(/^We have that \$r = /)
    expect(Object.keys(conversation.metadata ?? {})).toEqual(['answer', 'subject', 'level', 'unique_id'])
  })
})

describe('GSM8K (question, answer with its working)', () => {
  it('stays question → prompt, answer → completion', async () => {
    const result = await preview('gsm8k/test.jsonl')
    expect(result.mapping).toEqual({
      format: 'prompt-completion',
      columns: { prompt: 'question', completion: 'answer' }
    })
    expect(result.rows[0].conversation?.messages[1].content).toMatch(/#### 18$/)
    expect(choiceOf(result, 'completion').why).toBe('"answer" is the first column named like an answer')
  })
})

describe('whole files import with the detected mapping, every row', () => {
  it.each([
    ['arc/arc_challenge_test.jsonl', 1170],
    ['mmlu/test/high_school_physics_test.csv', 151],
    ['math500/test.jsonl', 500]
  ])('%s', async (file, rows) => {
    const { mapping } = await preview(file)
    const store = openTempStore()
    const outcome = await importFile(store, importRequest(join(DATASETS, file), mapping!), {
      readInThisThread: true
    })
    expect(outcome).toMatchObject({ ok: true, imported: rows, badRowCount: 0 })
  })

  it('makes a row whose answer key names no choice a bad row, saying so', async () => {
    const { mapping } = await preview('arc/arc_easy_dev.jsonl')
    const row = {
      id: 'x',
      question: { stem: 'Which?', choices: [{ text: 'a', label: 'A' }] },
      answerKey: 'E'
    }
    expect(() => normaliseRow(row, mapping!)).toThrow(
      'the template for "completion" fails on this row: "E" is not in list'
    )
  })
})
