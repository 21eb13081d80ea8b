/**
 * Writes the data of the built-in evaluation suite (resources/benchmarks/{gsm8k, arc_easy,
 * arc_challenge, mmlu, math500}) from the team's copies of the public datasets in
 * ../shared/datasets (see its README for origins and licences), and MMLU's 57 subject task files.
 * Deterministic: run it again and the files are byte-identical. The hand-written task files,
 * READMEs and the story-requests task are not touched.
 *
 * Run: `npx tsx scripts/make-builtin-benchmarks.ts [path/to/shared/datasets]`.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const ROOT = join(import.meta.dirname, '..', 'resources', 'benchmarks')
const SHARED = process.argv[2] ?? join(import.meta.dirname, '..', '..', 'shared', 'datasets')

/** GSM8K's few-shot examples are drawn from this many leading rows of its train split. */
const GSM8K_FEWSHOT_POOL = 250

function jsonLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

function writeJsonLines(file: string, rows: readonly unknown[]): void {
  writeFileSync(file, rows.map((row) => JSON.stringify(row)).join('\n') + '\n')
}

function gsm8k(): void {
  const dir = join(ROOT, 'gsm8k')
  mkdirSync(dir, { recursive: true })
  copyFileSync(join(SHARED, 'gsm8k', 'test.jsonl'), join(dir, 'test.jsonl'))
  writeJsonLines(
    join(dir, 'train-fewshot.jsonl'),
    jsonLines(join(SHARED, 'gsm8k', 'train.jsonl')).slice(0, GSM8K_FEWSHOT_POOL)
  )
  copyFileSync(join(SHARED, 'gsm8k', 'LICENSE'), join(dir, 'LICENSE'))
}

interface ArcRow {
  id: string
  question: { stem: string; choices: { text: string; label: string }[] }
  answerKey: string
}

/** ARC in the Hugging Face `allenai/ai2_arc` layout that lm-eval's ARC task reads. */
function arc(name: 'arc_easy' | 'arc_challenge'): void {
  const dir = join(ROOT, name)
  mkdirSync(dir, { recursive: true })
  const rows = jsonLines(join(SHARED, 'arc', `${name}_test.jsonl`)) as unknown as ArcRow[]
  writeJsonLines(
    join(dir, 'test.jsonl'),
    rows.map((row) => ({
      id: row.id,
      question: row.question.stem,
      choices: {
        text: row.question.choices.map((c) => c.text),
        label: row.question.choices.map((c) => c.label)
      },
      answerKey: row.answerKey
    }))
  )
}

function mmluTaskFile(subject: string): string {
  const description = `The following are multiple choice questions (with answers) about ${subject.replaceAll('_', ' ')}.\n\n`
  return [
    'include: _template.yaml',
    `task: mmlu_${subject}`,
    `task_alias: ${subject}`,
    `description: ${JSON.stringify(description)}`,
    'dataset_kwargs:',
    '  data_files:',
    `    test: data/test/${subject}_test.csv`,
    `    dev: data/dev/${subject}_dev.csv`,
    ''
  ].join('\n')
}

function mmlu(): void {
  const dir = join(ROOT, 'mmlu')
  const subjects = readdirSync(join(SHARED, 'mmlu', 'test'))
    .map((file) => file.replace(/_test\.csv$/, ''))
    .sort()
  for (const split of ['test', 'dev']) {
    mkdirSync(join(dir, 'data', split), { recursive: true })
    for (const subject of subjects) {
      copyFileSync(
        join(SHARED, 'mmlu', split, `${subject}_${split}.csv`),
        join(dir, 'data', split, `${subject}_${split}.csv`)
      )
    }
  }
  for (const subject of subjects) writeFileSync(join(dir, `mmlu_${subject}.yaml`), mmluTaskFile(subject))
  const group = [
    'group: mmlu',
    'group_alias: MMLU',
    'task:',
    ...subjects.map((subject) => `  - mmlu_${subject}`),
    'aggregate_metric_list:',
    '  - metric: acc',
    '    weight_by_size: true',
    'metadata:',
    '  title: MMLU (57 subjects, 5-shot)',
    '  version: 1',
    ''
  ]
  writeFileSync(join(dir, 'mmlu.yaml'), group.join('\n'))
}

function math500(): void {
  const dir = join(ROOT, 'math500')
  mkdirSync(dir, { recursive: true })
  copyFileSync(join(SHARED, 'math500', 'test.jsonl'), join(dir, 'test.jsonl'))
  copyFileSync(join(SHARED, 'math500', 'LICENSE'), join(dir, 'LICENSE'))
}

gsm8k()
arc('arc_easy')
arc('arc_challenge')
mmlu()
math500()
