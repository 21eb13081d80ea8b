import { describe, expect, it } from 'vitest'
import {
  buildRequests,
  builtinTaskFile,
  listBuiltinTasks,
  loadTaskFile,
  loadTaskGroup
} from '../../../src-main/eval/tasks'
import { loadBuiltinTask } from './helpers'

describe('the built-in evaluation suite', () => {
  it('lists each benchmark with its title and size', async () => {
    const list = await listBuiltinTasks()
    expect(list.map(({ name, kind, size }) => ({ name, kind, size }))).toEqual([
      { name: 'arc_challenge', kind: 'task', size: 1170 },
      { name: 'arc_easy', kind: 'task', size: 2376 },
      { name: 'gsm8k', kind: 'task', size: 1319 },
      { name: 'math500', kind: 'task', size: 500 },
      { name: 'mmlu', kind: 'group', size: 14042 },
      { name: 'story-requests', kind: 'task', size: 32 }
    ])
    expect(list.find((t) => t.name === 'gsm8k')?.title).toBe('GSM8K (grade-school math, 5-shot)')
    expect(list.find((t) => t.name === 'mmlu')?.tasks).toHaveLength(57)
  })

  it('finds a benchmark or a member task by name, and nothing for other names', () => {
    expect(builtinTaskFile('mmlu')).toMatch(/benchmarks\/mmlu\/mmlu\.yaml$/)
    expect(builtinTaskFile('mmlu_anatomy')).toMatch(/benchmarks\/mmlu\/mmlu_anatomy\.yaml$/)
    expect(builtinTaskFile('_template')).toBeNull()
    expect(builtinTaskFile('../gsm8k')).toBeNull()
    expect(builtinTaskFile('hellaswag')).toBeNull()
  })

  it("ARC: lm-eval's prompt, the answer key as an index into the choices (labels A-E or 1-4)", async () => {
    const task = await loadBuiltinTask('arc_challenge')
    const requests = buildRequests(task)
    expect(requests[0]).toMatchObject({
      prompt:
        'Question: An astronomer observes that a planet rotates faster after a meteorite impact. Which is the most likely effect of this increase in rotation?\nAnswer:',
      target: 2,
      request: {
        type: 'multiple_choice',
        continuations: [
          ' Planetary density will decrease.',
          ' Planetary years will become longer.',
          ' Planetary days will become shorter.',
          ' Planetary gravity will become stronger.'
        ]
      }
    })
    const numbered = requests.find((r) => (r.doc.choices as { label: string[] }).label[0] === '1')
    expect(numbered?.target).toBe(Number(numbered?.doc.answerKey as string) - 1)
  })

  it("MMLU: 57 subjects, 5-shot from dev in order, lm-eval's description and prompt, aggregated by size", async () => {
    const group = await loadTaskGroup(builtinTaskFile('mmlu') as string)
    expect(group.tasks).toHaveLength(57)
    expect(group.aggregates).toEqual([{ metric: 'acc', filters: null, weightBySize: true }])
    const anatomy = group.tasks.find((t) => t.name === 'mmlu_anatomy')
    const [first] = buildRequests(anatomy!, { limit: 1 })
    expect(first.fewshot).toEqual([0, 1, 2, 3, 4])
    expect(
      first.prompt.startsWith(
        'The following are multiple choice questions (with answers) about anatomy.\n\nWhat is the embryological origin of the hyoid bone?\nA. '
      )
    ).toBe(true)
    expect(
      first.prompt.endsWith(
        '\nD. paralysis of the facial muscles, loss of taste, lacrimation and decreased salivation.\nAnswer:'
      )
    ).toBe(true)
    expect(first.prompt.split('\n\n')).toHaveLength(7)
    expect(first).toMatchObject({ target: 0, choices: ['A', 'B', 'C', 'D'] })
  })

  it('every built-in task builds its requests without an error', async () => {
    for (const { file } of await listBuiltinTasks()) {
      const loaded = await loadTaskFile(file)
      const tasks = loaded.kind === 'task' ? [loaded.task] : loaded.group.tasks
      for (const task of tasks) expect(buildRequests(task)).toHaveLength(task.docs.length)
    }
  })
})
