import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { EvalItemPage, EvalMatrix, EvalTaskInfo, EvaluationSummary } from '../../src-preload/contract'
import { readModelConfig } from '../../src-main/engine/checkpoint/hf-config'
import { loraModules, writeLoraAdapter, type LoraConfig } from '../../src-main/engine/checkpoint/peft'
import { seededRandom } from '../../src-main/engine/infer/sampling'
import { runCaptured } from './captured-cli'
import { STORIES_260K, tempDir } from '../helpers/temp'

interface OutFile {
  task: string
  metrics: Record<string, { value: number; stderr: number | null }>
  items: Record<string, unknown>[]
}

/** A LoRA adapter for stories260K with seeded random weights: other scores than the base model's. */
function writeRandomAdapter(dir: string, seed: number): void {
  const lora: LoraConfig = {
    r: 2,
    loraAlpha: 4,
    loraDropout: 0,
    targetModules: ['q_proj', 'v_proj'],
    baseModelNameOrPath: null,
    useRslora: false
  }
  const random = seededRandom(seed)
  const modules = loraModules(readModelConfig(STORIES_260K), lora.targetModules).map((m) => ({
    ...m,
    a: Float32Array.from({ length: lora.r * m.inFeatures }, () => random() - 0.5),
    b: Float32Array.from({ length: m.outFeatures * lora.r }, () => random() - 0.5)
  }))
  mkdirSync(dir, { recursive: true })
  writeLoraAdapter(dir, lora, modules)
}

function lastEvaluationId(stdout: string): number {
  const match = /^evaluation (\d+):/m.exec(stdout)
  if (!match) throw new Error(`no evaluation id in:\n${stdout}`)
  return Number(match[1])
}

describe('finetune-studio eval', () => {
  const dir = tempDir()
  const store = join(dir.dir, 'store')
  afterAll(() => dir.cleanup())
  const base = ['eval', '--model', STORIES_260K, '--store', store]
  const arc = [...base, '--task', 'arc_easy', '--limit', '4']
  const ids: Record<string, number> = {}

  it('evaluates a model folder on a built-in task: lm-eval’s table, and --out with every item', async () => {
    const out = join(dir.dir, 'arc.json')
    const { code, out: stdout, err } = await runCaptured([...arc, '--out', out])
    expect(code, err).toBe(0)
    ids.arc = lastEvaluationId(stdout)
    const lines = stdout.split('\n')
    expect(lines[1]).toMatch(/^\| +Tasks +\|Version\|Filter\|n-shot\| Metric \| +\|Value \| +\|Stderr\|$/)
    expect(lines[2]).toBe('|--------|------:|------|-----:|--------|---|-----:|---|-----:|')
    expect(lines[3]).toMatch(
      /^\|arc_easy\|      1\|none  \|     0\|acc     \|↑  \|[01]\.\d{4}\|±  \|\d\.\d{4}\|$/
    )
    expect(lines[4]).toMatch(
      /^\|        \|       \|none  \|     0\|acc_norm\|↑  \|[01]\.\d{4}\|±  \|\d\.\d{4}\|$/
    )

    const written = JSON.parse(readFileSync(out, 'utf8')) as OutFile
    expect(Object.keys(written)).toEqual(['task', 'metrics', 'items'])
    expect(written.task).toBe('arc_easy')
    expect(Object.keys(written.metrics).sort()).toEqual(['acc,none', 'acc_norm,none'])
    for (const metric of Object.values(written.metrics))
      expect(Object.keys(metric)).toEqual(['value', 'stderr'])
    expect(written.items.map((item) => item.index)).toEqual([0, 1, 2, 3])
    let right = 0
    for (const item of written.items) {
      expect(Object.keys(item)).toEqual(['index', 'target', 'prediction', 'correct', 'logprobs'])
      const logprobs = item.logprobs as number[]
      // The prediction is the choice with the highest summed log-probability.
      expect(item.prediction).toBe(logprobs.indexOf(Math.max(...logprobs)))
      if (item.correct) right++
    }
    expect(written.metrics['acc,none'].value).toBe(right / 4)
  })

  it('evaluates a generation task with the chat template: --out holds each output and extracted answer', async () => {
    const out = join(dir.dir, 'story.json')
    const { code, err } = await runCaptured([
      ...base,
      '--task',
      'story-requests',
      '--limit',
      '2',
      '--apply-chat-template',
      '--out',
      out
    ])
    expect(code, err).toBe(0)
    const written = JSON.parse(readFileSync(out, 'utf8')) as OutFile
    expect(Object.keys(written.metrics)).toEqual(['mentions_all,none'])
    for (const item of written.items) {
      expect(Object.keys(item)).toEqual(['index', 'target', 'prediction', 'correct', 'output'])
      expect(typeof item.output).toBe('string')
      expect(item.prediction).toBe(item.output)
    }
  })

  it('--self-correction reports the decomposition and each answer after review; what is undefined is left out', async () => {
    const out = join(dir.dir, 'review.json')
    const {
      code,
      out: stdout,
      err
    } = await runCaptured([
      ...base,
      '--task',
      'story-requests',
      '--limit',
      '2',
      '--apply-chat-template',
      '--self-correction',
      '--review-prompt',
      'Check the name and the animal.',
      '--out',
      out
    ])
    expect(code, err).toBe(0)
    // The base model gets neither request right, so no answer was right before review to stay right:
    // confidence, and rss with it, are not defined.
    expect(stdout).not.toMatch(/confidence|rss/)
    expect(stdout).toMatch(/^\| +\| +\| +\| +0\|critique +\|↑ +\|0\.0000\|/m)
    const written = JSON.parse(readFileSync(out, 'utf8')) as OutFile
    expect(Object.keys(written.metrics)).toEqual(
      expect.arrayContaining(['mentions_all,none', 'acc_before', 'acc_after', 'critique'])
    )
    expect(Object.keys(written.metrics)).not.toContain('confidence')
    for (const item of written.items) {
      expect(item.review).toEqual({
        output: expect.any(String),
        prediction: expect.any(String),
        correct: false
      })
    }
  })

  it('reuses a stored evaluation of the same model, task and settings unless --rerun', async () => {
    const again = await runCaptured(arc)
    expect(again.code).toBe(0)
    expect(again.err).toContain(`reusing evaluation ${ids.arc}`)
    expect(lastEvaluationId(again.out)).toBe(ids.arc)
    const rerun = await runCaptured([...arc, '--rerun'])
    expect(rerun.code).toBe(0)
    expect(lastEvaluationId(rerun.out)).toBeGreaterThan(ids.arc)
  })

  it('evaluates base + adapter folder as weights of their own, known by the adapter’s content', async () => {
    const adapter = join(dir.dir, 'adapter')
    writeRandomAdapter(adapter, 3)
    const first = await runCaptured([...arc, '--adapter', adapter])
    expect(first.code, first.err).toBe(0)
    ids.adapter = lastEvaluationId(first.out)
    expect(first.out.split('\n')[0]).toContain(`stories260K + ${adapter}`)
    expect(first.err).not.toContain('reusing')
    // Trained again into the same folder, it is other weights: evaluated anew, not reused.
    writeRandomAdapter(adapter, 4)
    const retrained = await runCaptured([...arc, '--adapter', adapter])
    expect(retrained.err).not.toContain('reusing')
    expect(lastEvaluationId(retrained.out)).toBeGreaterThan(ids.adapter)

    const items = async (id: number) =>
      (
        JSON.parse(
          (await runCaptured(['eval', 'items', String(id), '--json', '--store', store])).out
        ) as EvalItemPage
      ).items
    const [baseItems, adapterItems] = [await items(ids.arc), await items(ids.adapter)]
    adapterItems.forEach((item, i) => expect(item.logprobs).not.toEqual(baseItems[i].logprobs))
  })

  it('refuses an adapter folder that is not one, naming it', async () => {
    const { code, err } = await runCaptured([...arc, '--adapter', dir.dir])
    expect(code).toBe(1)
    expect(err).toContain(`evaluations.start: ${dir.dir} is not a PEFT LoRA adapter folder`)
  })

  it('eval list, show and items browse the stored evaluations', async () => {
    const listed = await runCaptured(['eval', 'list', '--store', store, '--json'])
    const rows = JSON.parse(listed.out) as EvaluationSummary[]
    expect(rows.map((row) => row.id)).toContain(ids.arc)
    const text = await runCaptured(['eval', 'list', '--store', store, '--task', 'arc_easy'])
    expect(text.out.split('\n')[0]).toMatch(/^ID +TASK +TARGET +STATUS +DOCS +HEADLINE +CREATED$/)
    expect(text.out).toMatch(
      new RegExp(`^${ids.arc} +arc_easy +stories260K +completed +4 +acc,none [01]\\.\\d{4} ± `, 'm')
    )
    expect(text.out).not.toContain('story-requests')

    const shown = await runCaptured(['eval', 'show', String(ids.arc), '--store', store, '--items', '2'])
    expect(shown.code).toBe(0)
    expect(shown.out).toContain('|arc_easy|')
    expect(shown.out).toContain('first 2 of 4 items:')
    expect(shown.out).toMatch(/^[✓✗] 0 {2}target: .+ {2}answer: .+$/m)

    const page = JSON.parse(
      (await runCaptured(['eval', 'items', String(ids.arc), '--only', 'wrong', '--json', '--store', store]))
        .out
    ) as EvalItemPage
    expect(page.items.every((item) => item.answer.correct === false)).toBe(true)
    const all = JSON.parse(
      (await runCaptured(['eval', 'items', String(ids.arc), '--json', '--store', store])).out
    ) as EvalItemPage
    expect(page.total).toBe(all.items.filter((item) => !item.answer.correct).length)
  })

  it('eval diff lists what flipped between two evaluations of one task', async () => {
    const { code, out } = await runCaptured([
      'eval',
      'diff',
      String(ids.arc),
      String(ids.adapter),
      '--only',
      'improved,regressed,both_correct,both_wrong',
      '--store',
      store
    ])
    expect(code).toBe(0)
    const counts = /improved (\d+), regressed (\d+), both_correct (\d+), both_wrong (\d+)/.exec(out)!
    expect(counts.slice(1).reduce((sum, n) => sum + Number(n), 0)).toBe(4)
    expect(out.match(/^(improved|regressed|both_correct|both_wrong) \d+ {2}target: /gm)).toHaveLength(4)
  })

  it('eval matrix shows each model × task cell', async () => {
    const matrix = JSON.parse(
      (await runCaptured(['eval', 'matrix', '--json', '--store', store])).out
    ) as EvalMatrix
    expect(matrix.tasks.map((t) => t.task)).toEqual(['arc_easy', 'story-requests'])
    const text = await runCaptured(['eval', 'matrix', '--store', store])
    expect(text.out.split('\n')[0]).toMatch(
      /^MODEL \/ CHECKPOINT +arc_easy acc,none ↑ +story-requests mentions_all,none ↑$/
    )
  })

  it('eval tasks lists the built-in suite', async () => {
    const { out } = await runCaptured(['eval', 'tasks', '--json', '--store', store])
    const tasks = JSON.parse(out) as EvalTaskInfo[]
    expect(tasks.map((t) => t.name)).toEqual(
      expect.arrayContaining(['arc_easy', 'arc_challenge', 'gsm8k', 'math500', 'mmlu', 'story-requests'])
    )
    const text = await runCaptured(['eval', 'tasks', '--store', store])
    expect(text.out).toMatch(/^mmlu +group of 57 +14042 +5 +acc,none +/m)
  })

  it('evaluates the task file the README shows', async () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8')
    const yaml = /```yaml\n(# my-quiz\.yaml\n[\s\S]*?)```/.exec(readme)![1]
    const data = /```jsonl\n(\{[\s\S]*?)```/.exec(readme)![1]
    writeFileSync(join(dir.dir, 'my-quiz.yaml'), yaml)
    writeFileSync(join(dir.dir, 'my-quiz.jsonl'), data)
    const { code, out, err } = await runCaptured([...base, '--task', join(dir.dir, 'my-quiz.yaml')])
    expect(code, err).toBe(0)
    expect(out).toMatch(/^\|my_quiz\|/m)
  })

  it('names the task, the file and the key of a task it cannot evaluate', async () => {
    const unknown = await runCaptured([...base, '--task', 'no-such-task'])
    expect(unknown.code).toBe(1)
    expect(unknown.err).toMatch(
      /^finetune-studio eval: evaluations\.start: task "no-such-task" is neither a built-in task nor an existing file/
    )
    const file = join(dir.dir, 'bad.yaml')
    writeFileSync(join(dir.dir, 'bad.jsonl'), '{"q": "a", "c": ["x", "y"]}\n')
    writeFileSync(
      file,
      'task: bad\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: bad.jsonl\n' +
        'output_type: multiple_choice\ndoc_to_text: q\ndoc_to_choice: c\ndoc_to_target: 0\nprocess_docs: drop_some\n'
    )
    const bad = await runCaptured([...base, '--task', file])
    expect(bad.code).toBe(1)
    expect(bad.errLines[0]).toContain(`evaluations.start: ${file}`)
    expect(bad.errLines[0]).toContain('process_docs')
  })

  it('refuses wrong usage with exit code 2 before evaluating anything', async () => {
    const cases: [string[], RegExp][] = [
      [[...arc.slice(0, -1), '0'], /--limit must be a whole number ≥ 1 and ≤ 1000000, got 0/],
      [base, /--task FILE\|NAME is required/],
      [['eval', '--task', 'arc_easy', '--store', store], /--model DIR \(or --checkpoint ID\) is required/],
      [[...arc, '--checkpoint', '1'], /give --checkpoint or --model/],
      [[...arc, '--review-prompt', 'Again?'], /--review-prompt is the request of --self-correction/],
      [[...arc, '--device', 'tpu'], /--device must be cpu or cuda, got tpu/],
      [['eval', 'show', 'x', '--store', store], /an evaluation id is a whole number ≥ 1, got x/],
      [['eval', 'diff', '1', '2', '--only', 'better', '--store', store], /--only takes improved, regressed/]
    ]
    for (const [argv, message] of cases) {
      const { code, errLines } = await runCaptured(argv)
      expect(code, argv.join(' ')).toBe(2)
      expect(errLines[0]).toMatch(message)
    }
  })

  it('refuses an --out file that exists before evaluating, and replaces it with --overwrite', async () => {
    const out = join(dir.dir, 'exists.json')
    writeFileSync(out, 'keep me')
    const refused = await runCaptured([...arc, '--out', out])
    expect(refused.code).toBe(1)
    expect(refused.err).toContain(`${out} exists; pass --overwrite to replace it`)
    expect(readFileSync(out, 'utf8')).toBe('keep me')
    const replaced = await runCaptured([...arc, '--out', out, '--overwrite'])
    expect(replaced.code).toBe(0)
    expect((JSON.parse(readFileSync(out, 'utf8')) as OutFile).task).toBe('arc_easy')
  })
})
