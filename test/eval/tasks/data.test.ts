import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildRequests, loadTask } from '../../../src-main/eval/tasks'
import { writeParquetStrings } from '../../datasets/parquet-fixture'
import { useTaskFolders } from './helpers'

const MMLU_LIKE = `task: t
dataset_path: FORMAT
dataset_kwargs:
  data_files:
    test: FILE
test_split: test
output_type: multiple_choice
doc_to_text: "{{question.strip()}}\\nA. {{choice0}}\\nB. {{choice1}}\\nAnswer:"
doc_to_choice: ["A", "B"]
doc_to_target: answer
`

describe('task data in each format', () => {
  const folder = useTaskFolders()

  function task(format: string, file: string, content: string | null): string {
    const dir = folder({
      'task.yaml': MMLU_LIKE.replace('FORMAT', format).replace('FILE', file),
      ...(content === null ? {} : { [file]: content })
    })
    return join(dir, 'task.yaml')
  }

  it('CSV: cells are text, but a column of plain whole numbers is numbers (as pandas reads it)', async () => {
    const csv = 'question,choice0,choice1,answer\n" Is 2 even? ",yes,007,1\nIs 3 even?,no,12,0\n'
    const loaded = await loadTask(task('csv', 'test.csv', csv))
    expect(loaded.docs).toEqual([
      { question: ' Is 2 even? ', choice0: 'yes', choice1: '007', answer: 1 },
      { question: 'Is 3 even?', choice0: 'no', choice1: '12', answer: 0 }
    ])
    const [first] = buildRequests(loaded)
    expect(first.prompt).toBe('Is 2 even?\nA. yes\nB. 007\nAnswer:')
    expect(first.target).toBe(1)
  })

  it('JSON: JSON Lines or one JSON array', async () => {
    const rows = [{ question: 'Q', choice0: 'a', choice1: 'b', answer: 1 }]
    const lines = await loadTask(task('json', 'test.json', JSON.stringify(rows[0]) + '\n'))
    const array = await loadTask(task('json', 'test.json', JSON.stringify(rows, null, 2)))
    expect(lines.docs).toEqual(rows)
    expect(array.docs).toEqual(rows)
  })

  it('Parquet', async () => {
    const dir = folder({
      'task.yaml': MMLU_LIKE.replace('FORMAT', 'parquet').replace('FILE', 'test.parquet')
    })
    writeParquetStrings(join(dir, 'test.parquet'), [{ question: 'Q', choice0: 'a', choice1: 'b', answer: 1 }])
    const loaded = await loadTask(join(dir, 'task.yaml'))
    expect(buildRequests(loaded)[0]).toMatchObject({ prompt: 'Q\nA. a\nB. b\nAnswer:', target: 1 })
  })

  it('hashes the task file and its data: a changed data file changes the hash', async () => {
    const csv = 'question,choice0,choice1,answer\nQ,a,b,1\n'
    const one = await loadTask(task('csv', 'test.csv', csv))
    const same = await loadTask(task('csv', 'test.csv', csv))
    const other = await loadTask(task('csv', 'test.csv', csv.replace('1\n', '0\n')))
    expect(one.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(same.hash).toBe(one.hash)
    expect(other.hash).not.toBe(one.hash)
  })
})
