import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildRequests, loadTask, loadTaskFile, TaskFileError } from '../../../src-main/eval/tasks'
import { jsonl, useTaskFolders } from './helpers'

const ROWS = [
  { question: 'What is 1+1?', answer: '2', choices: ['1', '2'] },
  { question: 'What is 2+2?', answer: '4', choices: ['3', '4'] },
  { question: 'What is 3+3?', answer: '6', choices: ['6', '7'] }
]

const BASE = `task: demo
dataset_path: json
dataset_kwargs:
  data_files:
    test: test.jsonl
test_split: test
output_type: multiple_choice
doc_to_text: "Q: {{question}}\\nA:"
doc_to_choice: choices
doc_to_target: answer
`

/** The error a promise rejects with, or a function throws. */
async function caught(run: () => unknown): Promise<TaskFileError> {
  try {
    await run()
  } catch (error) {
    expect(error).toBeInstanceOf(TaskFileError)
    return error as TaskFileError
  }
  throw new Error('expected a TaskFileError')
}

describe('task file errors name the file, the key and the row', () => {
  const folder = useTaskFolders()

  function task(yaml: string, rows: string = jsonl(ROWS)): string {
    return join(folder({ 'task.yaml': yaml, 'test.jsonl': rows }), 'task.yaml')
  }

  it('loads the valid base task', async () => {
    const loaded = await loadTask(task(BASE))
    expect(buildRequests(loaded).map((r) => r.target)).toEqual([1, 1, 0])
  })

  it('refuses a key lm-eval defines but we cannot honour, saying why', async () => {
    const file = task(BASE + 'process_docs: utils.process_docs\n')
    const error = await caught(() => loadTask(file))
    expect(error.key).toBe('process_docs')
    expect(error.message).toContain(file)
    expect(error.message).toMatch(/"process_docs": not supported: it runs Python code/)
  })

  it('refuses an unknown key', async () => {
    const error = await caught(() => loadTask(task(BASE + 'shuffle_choices: true\n')))
    expect(error.key).toBe('shuffle_choices')
    expect(error.message).toMatch(/unknown key; supported: task, /)
  })

  it('refuses an unknown key inside a nested mapping', async () => {
    const error = await caught(() =>
      loadTask(
        task(
          BASE.replace('output_type: multiple_choice', 'output_type: generate_until') +
            'generation_kwargs:\n  top_p: 0.9\n'
        )
      )
    )
    expect(error.key).toBe('generation_kwargs.top_p')
  })

  it('refuses a custom YAML tag, naming the key it sits under', async () => {
    const file = task(BASE + 'process_docs: !function utils.process_docs\n')
    const error = await caught(() => loadTask(file))
    expect(error.key).toBe('process_docs')
    expect(error.message).toMatch(/custom YAML tag !function is not supported/)
    const nested = await caught(() =>
      loadTask(task(BASE + 'metric_list:\n  - metric: !function utils.my_metric\n'))
    )
    expect(nested.key).toBe('metric_list[0].metric')
  })

  it('refuses dataset_name, which means nothing for local files', async () => {
    const error = await caught(() => loadTask(task(BASE + 'dataset_name: main\n')))
    expect(error.key).toBe('dataset_name')
  })

  it('names the row that lacks a column', async () => {
    const rows = jsonl([ROWS[0], ROWS[1], { answer: '6', choices: ['6', '7'] }])
    const loaded = await loadTask(task(BASE, rows))
    const error = await caught(() => buildRequests(loaded))
    expect(error.key).toBe('doc_to_text')
    expect(error.place).toMatchObject({ row: 2, split: 'test', dataFile: 'test.jsonl' })
    expect(error.message).toMatch(
      /"doc_to_text": row 2 of split "test", test\.jsonl: template error: 'question' is undefined/
    )
  })

  it('names the row that lacks a column named directly', async () => {
    const rows = jsonl([ROWS[0], { question: 'What is 2+2?', choices: ['3', '4'] }])
    const error = await caught(async () => buildRequests(await loadTask(task(BASE, rows))))
    expect(error).toMatchObject({ key: 'doc_to_target', place: { row: 1 } })
    expect(error.message).toMatch(/the row has no column "answer"/)
  })

  it('names the key of a template that does not parse, when the task loads', async () => {
    const error = await caught(() =>
      loadTask(task(BASE.replace('"Q: {{question}}\\nA:"', '"Q: {{question"')))
    )
    expect(error.key).toBe('doc_to_text')
    expect(error.place).toBeNull()
    expect(error.message).toMatch(/cannot parse the template/)
  })

  it('names the key and row of a template that fails on a row', async () => {
    const yaml = BASE.replace('doc_to_target: answer', 'doc_to_target: "{{choices.index(answer)}}"')
    const rows = jsonl([ROWS[0], { question: 'q', answer: '5', choices: ['3', '4'] }])
    const error = await caught(async () => buildRequests(await loadTask(task(yaml, rows))))
    expect(error).toMatchObject({ key: 'doc_to_target', place: { row: 1 } })
    expect(error.message).toMatch(/template error: "5" is not in list/)
  })

  it('names the row whose target is not among its choices', async () => {
    const rows = jsonl([ROWS[0], { question: 'q', answer: '5', choices: ['3', '4'] }])
    const error = await caught(async () => buildRequests(await loadTask(task(BASE, rows))))
    expect(error).toMatchObject({ key: 'doc_to_target', place: { row: 1 } })
    expect(error.message).toMatch(/gives "5", which is not one of the 2 choices/)
  })

  it('names the data row that is not valid JSON, with its line', async () => {
    const rows = `${JSON.stringify(ROWS[0])}\n\n${JSON.stringify(ROWS[1])}\n{"question": "broken",\n`
    const error = await caught(() => loadTask(task(BASE, rows)))
    expect(error.key).toBe('dataset_kwargs.data_files.test')
    expect(error.place).toMatchObject({ row: 2, split: 'test', dataFile: 'test.jsonl', line: 4 })
    expect(error.message).toMatch(/row 2 of split "test", test\.jsonl line 4: not valid JSON/)
  })

  it('refuses data that is not UTF-8, naming the line', async () => {
    const dir = folder({ 'task.yaml': BASE })
    writeFileSync(
      join(dir, 'test.jsonl'),
      Buffer.concat([Buffer.from(jsonl(ROWS.slice(0, 1))), Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d, 0x0a])])
    )
    const error = await caught(() => loadTask(join(dir, 'task.yaml')))
    expect(error.key).toBe('dataset_kwargs.data_files.test')
    expect(error.message).toMatch(/test\.jsonl is not UTF-8 text \(line 2\)/)
  })

  it('names the CSV row with the wrong number of fields', async () => {
    const dir = folder({
      'task.yaml': BASE.replace('dataset_path: json', 'dataset_path: csv')
        .replace('test.jsonl', 'test.csv')
        .replace('doc_to_choice: choices', 'doc_to_choice: ["1", "2"]'),
      'test.csv': 'question,answer\n"What is 1+1?",2\nWhat is 2+2?,4,extra\n'
    })
    const error = await caught(() => loadTask(join(dir, 'task.yaml')))
    expect(error).toMatchObject({ key: 'dataset_kwargs.data_files.test', place: { row: 1, line: 3 } })
    expect(error.message).toMatch(/has 3 fields, the header has 2/)
  })

  it('names a data file that does not exist, and a split with no file', async () => {
    const missing = await caught(() =>
      loadTask(task(BASE.replace('test: test.jsonl', 'test: nowhere.jsonl')))
    )
    expect(missing.key).toBe('dataset_kwargs.data_files.test')
    const noFile = await caught(() =>
      loadTask(task(BASE.replace('test_split: test', 'test_split: validation')))
    )
    expect(noFile.key).toBe('test_split')
    expect(noFile.message).toMatch(/the split "validation" has no file/)
  })

  it('names a regular expression RE2 cannot run, and a metric the output type has not', async () => {
    const generate = BASE.replace('output_type: multiple_choice', 'output_type: generate_until').replace(
      'doc_to_choice: choices\n',
      ''
    )
    const regex = await caught(() =>
      loadTask(
        task(
          generate +
            'filter_list:\n  - name: x\n    filter:\n      - function: regex\n        regex_pattern: "(?=a)b"\n'
        )
      )
    )
    expect(regex.key).toBe('filter_list[0].filter[0].regex_pattern')
    expect(regex.message).toMatch(/cannot be compiled/)
    const metric = await caught(() =>
      loadTask(task(BASE + 'metric_list:\n  - metric: exact_match\n    ignore_case: true\n'))
    )
    expect(metric.key).toBe('metric_list[0].ignore_case')
    const wrongType = await caught(() => loadTask(task(BASE + 'metric_list:\n  - metric: perplexity\n')))
    expect(wrongType.key).toBe('metric_list[0].metric')
    expect(wrongType.message).toMatch(/perplexity applies to output_type loglikelihood, not multiple_choice/)
    const unknown = await caught(() => loadTask(task(BASE + 'metric_list:\n  - metric: bleu\n')))
    expect(unknown.message).toMatch(/unknown metric "bleu".*Finetune Studio extensions/)
  })

  it('names an include that is missing or circular', async () => {
    const missing = await caught(() => loadTask(task('include: base.yaml\n')))
    expect(missing.key).toBe('include')
    expect(missing.message).toMatch(/base\.yaml: cannot read the file/)
    const dir = folder({ 'a.yaml': 'include: b.yaml\ntask: a\n', 'b.yaml': 'include: a.yaml\n' })
    const circular = await caught(() => loadTask(join(dir, 'a.yaml')))
    expect(circular.message).toMatch(/includes itself/)
  })

  it('reads invalid YAML and JSON as errors of the file', async () => {
    const yaml = await caught(() => loadTask(task('task: [demo\n')))
    expect(yaml.message).toMatch(/not valid YAML/)
    const aliases = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdef'
        .split('')
        .map((name, i) => `${name}: &${name} [${Array(10).fill(`*${'abcdef'[i]}`).join(', ')}]`)
    ]
    const bomb = await caught(() => loadTask(task(aliases.join('\n') + '\n')))
    expect(bomb.message).toMatch(/task\.yaml: not valid YAML: Excessive alias count/)
    const dir = folder({ 'task.json': '{"task": "demo",}' })
    const json = await caught(() => loadTaskFile(join(dir, 'task.json')))
    expect(json.message).toMatch(/not valid JSON/)
  })
})
