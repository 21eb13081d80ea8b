import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildRequests, loadTask, TaskFileError, type ChatTurn } from '../../../src-main/eval/tasks'
import { jsonl, useTaskFolders } from './helpers'

const DOCS = [0, 1, 2, 3, 4, 5].map((i) => ({
  q: `Q${i}`,
  a: `A${i}`,
  choices: [`x${i}`, `y${i}`],
  gold: i % 2
}))

function yaml(lines: Record<string, string>): string {
  const base: Record<string, string> = {
    task: 'demo',
    dataset_path: 'json',
    dataset_kwargs: '\n  data_files:\n    test: test.jsonl\n    train: train.jsonl',
    test_split: 'test',
    output_type: 'generate_until',
    doc_to_text: 'q',
    doc_to_target: 'a',
    ...lines
  }
  return Object.entries(base)
    .map(([key, value]) => `${key}: ${value}`)
    .join('\n')
}

describe('requests as lm-eval builds them', () => {
  const folder = useTaskFolders()

  async function load(lines: Record<string, string>, test: unknown[] = DOCS, train: unknown[] = DOCS) {
    const dir = folder({ 'task.yaml': yaml(lines), 'test.jsonl': jsonl(test), 'train.jsonl': jsonl(train) })
    return loadTask(join(dir, 'task.yaml'))
  }

  it('joins description, few-shot examples and the question: text, target delimiter, answer, few-shot delimiter', async () => {
    const task = await load({
      fewshot_split: 'train',
      num_fewshot: '2',
      fewshot_config: '\n  sampler: first_n',
      description: '"Answer briefly.\\n\\n"'
    })
    const [first] = buildRequests(task, { limit: 1 })
    expect(first.prompt).toBe('Answer briefly.\n\nQ0 A0\n\nQ1 A1\n\nQ0')
    expect(first.fewshot).toEqual([0, 1])
    expect(first.request).toEqual({
      type: 'generate_until',
      context: first.prompt,
      until: ['\n\n'],
      maxGenToks: 256,
      doSample: false,
      temperature: 0
    })
    const custom = await load({
      fewshot_split: 'train',
      num_fewshot: '1',
      fewshot_config: '\n  sampler: first_n',
      target_delimiter: '" => "',
      fewshot_delimiter: '" | "'
    })
    expect(buildRequests(custom, { limit: 1 })[0].prompt).toBe('Q0 => A0 | Q0')
  })

  it('leaves the document itself out of its examples only when they come from the test split', async () => {
    const same = await load({
      fewshot_split: 'test',
      num_fewshot: '2',
      fewshot_config: '\n  sampler: first_n'
    })
    expect(buildRequests(same).map((r) => r.fewshot)).toEqual([
      [1, 2],
      [0, 2],
      [0, 1],
      [0, 1],
      [0, 1],
      [0, 1]
    ])
    const other = await load({
      fewshot_split: 'train',
      num_fewshot: '2',
      fewshot_config: '\n  sampler: first_n'
    })
    expect(buildRequests(other).map((r) => r.fewshot)).toEqual(DOCS.map(() => [0, 1]))
  })

  it("samples examples with Python's random stream seeded 1234, document after document", async () => {
    // CPython: r = Random(1234); per doc i: [x for x in r.sample(range(6), 3) if x != i][:2]
    const same = await load({ fewshot_split: 'test', num_fewshot: '2' })
    expect(buildRequests(same).map((r) => r.fewshot)).toEqual([
      [3, 4],
      [0, 4],
      [5, 0],
      [2, 1],
      [0, 5],
      [4, 3]
    ])
    // CPython: r = Random(7); [r.sample(range(6), 2) for _ in range(3)]
    const other = await load({ fewshot_split: 'train', num_fewshot: '2' })
    expect(buildRequests(other, { seed: 7, limit: 3 }).map((r) => r.fewshot)).toEqual([
      [2, 1],
      [3, 0],
      [0, 4]
    ])
  })

  it('overrides num_fewshot, and refuses examples the task cannot give', async () => {
    const task = await load({ fewshot_split: 'train', fewshot_config: '\n  sampler: first_n' })
    expect(buildRequests(task, { numFewshot: 3, limit: 1 })[0].fewshot).toEqual([0, 1, 2])
    expect(() => buildRequests(task, { numFewshot: 7 })).toThrow(
      /7 few-shot examples asked for, but the pool has 6/
    )
    const noPool = await load({ fewshot_config: '\n  samples: []' })
    expect(() => buildRequests(noPool, { numFewshot: 1 })).toThrow(TaskFileError)
  })

  it('prepends the system instruction, joined to the description by the few-shot delimiter', async () => {
    const task = await load({ description: '"Answer math questions.\\n"' })
    expect(buildRequests(task, { limit: 1, systemInstruction: 'Be helpful.' })[0].prompt).toBe(
      'Be helpful.\n\nAnswer math questions.\nQ0'
    )
    const plain = await load({})
    // lm-eval adds nothing between a system instruction and the question.
    expect(buildRequests(plain, { limit: 1, systemInstruction: 'Be helpful.' })[0].prompt).toBe(
      'Be helpful.Q0'
    )
  })

  it('renders chat turns: few-shot as separate turns by default, or one user turn; choices lose the delimiter', async () => {
    const task = await load({
      output_type: 'multiple_choice',
      doc_to_choice: 'choices',
      doc_to_target: 'gold',
      fewshot_split: 'train',
      num_fewshot: '1',
      fewshot_config: '\n  sampler: first_n',
      description: 'Pick one.'
    })
    const seen: (readonly ChatTurn[])[] = []
    const renderChat = (turns: readonly ChatTurn[]) => {
      seen.push(turns)
      return `<chat ${seen.length}>`
    }
    const [multi] = buildRequests(task, { limit: 1, renderChat })
    expect(seen[0]).toEqual([
      { role: 'system', content: 'Pick one.' },
      { role: 'user', content: 'Q0' },
      { role: 'assistant', content: 'x0' },
      { role: 'user', content: 'Q0' }
    ])
    expect(multi.request).toEqual({
      type: 'multiple_choice',
      context: '<chat 1>',
      continuations: ['x0', 'y0']
    })
    buildRequests(task, { limit: 1, renderChat, fewshotAsMultiturn: false, systemInstruction: 'Be brief.' })
    expect(seen[1]).toEqual([
      { role: 'system', content: 'Be brief.\n\nPick one.' },
      { role: 'user', content: 'Q0 x0\n\nQ0' }
    ])
    expect(buildRequests(task, { limit: 1 })[0].request).toEqual({
      type: 'multiple_choice',
      context: 'Pick one.Q0 x0\n\nQ0',
      continuations: [' x0', ' y0']
    })
  })

  it('resolves doc_to_target as lm-eval: column, digits of a template, a list, a constant, a choice text', async () => {
    const mc = { output_type: 'multiple_choice', doc_to_choice: 'choices' }
    const targets = async (lines: Record<string, string>, docs: unknown[] = DOCS) =>
      buildRequests(await load({ ...mc, ...lines }, docs)).map((r) => r.target)
    expect(await targets({ doc_to_target: 'gold' })).toEqual([0, 1, 0, 1, 0, 1])
    expect(await targets({ doc_to_target: '"{{ gold + 0 }}"' })).toEqual([0, 1, 0, 1, 0, 1])
    expect(await targets({ doc_to_target: '"{{ choices[1] }}"' })).toEqual([1, 1, 1, 1, 1, 1])
    expect(await targets({ doc_to_target: '"[0, 1]"' })).toEqual(DOCS.map(() => [0, 1]))
    expect(await targets({ doc_to_target: '1' })).toEqual([1, 1, 1, 1, 1, 1])
    expect(await targets({ doc_to_target: 'ok' }, [{ q: 'Q', choices: ['no', 'yes'], ok: true }])).toEqual([
      1
    ])
    const generation = await load({ doc_to_choice: '["no", "yes"]', doc_to_target: 'gold' })
    expect(buildRequests(generation).map((r) => r.target)).toEqual(['no', 'yes', 'no', 'yes', 'no', 'yes'])
  })

  it('resolves doc_to_choice from a column, a YAML list and a template that renders a list', async () => {
    const choices = async (choice: string) =>
      buildRequests(
        await load({ output_type: 'multiple_choice', doc_to_choice: choice, doc_to_target: '0' }),
        {
          limit: 1
        }
      )[0].choices
    expect(await choices('choices')).toEqual(['x0', 'y0'])
    expect(await choices('["A", "B"]')).toEqual(['A', 'B'])
    expect(await choices('"{{ choices + [q] }}"')).toEqual(['x0', 'y0', 'Q0'])
    expect(await choices('"[\'{{a}}\', \\"it\'s\\"]"')).toEqual(['A0', "it's"])
  })

  it('uses fewshot_config overrides and written-out samples for the examples only', async () => {
    const task = await load({
      num_fewshot: '1',
      doc_to_target: '"{{a}}"',
      fewshot_config:
        '\n  sampler: first_n\n  doc_to_target: "{{a}} because {{q}}"\n  samples:\n    - {q: "Qs", a: "As"}'
    })
    const [request] = buildRequests(task, { limit: 1 })
    expect(request.prompt).toBe('Qs As because Qs\n\nQ0')
    expect(request.target).toBe('A0')
    expect(task.fewshotSplit).toBeNull()
  })

  it('leaves out the delimiters of a few-shot example without an answer', async () => {
    const task = await load(
      { fewshot_split: 'train', num_fewshot: '1', fewshot_config: '\n  sampler: first_n' },
      DOCS,
      [{ q: 'Qe', a: '' }]
    )
    expect(buildRequests(task, { limit: 1 })[0].prompt).toBe('QeQ0')
  })

  it('makes loglikelihood and rolling requests from the target as it is', async () => {
    const ll = await load({ output_type: 'loglikelihood', doc_to_target: '"{{\' \' + a}}"' })
    expect(buildRequests(ll, { limit: 1 })[0].request).toEqual({
      type: 'loglikelihood',
      context: 'Q0',
      continuation: ' A0'
    })
    const rolling = await load({ output_type: 'loglikelihood_rolling', doc_to_text: '""' })
    const [first] = buildRequests(rolling, { limit: 2 })
    expect(first).toMatchObject({
      prompt: 'A0',
      target: 'A0',
      request: { type: 'loglikelihood_rolling', text: 'A0' }
    })
  })

  it('refuses a multiple-input task (doc_to_text giving a choice index)', async () => {
    const task = await load({
      output_type: 'multiple_choice',
      doc_to_choice: 'choices',
      doc_to_text: '"{{gold}}"',
      doc_to_target: 'a'
    })
    expect(() => buildRequests(task)).toThrow(/which lm-eval reads as a choice index \(a multiple-input task/)
  })
})
