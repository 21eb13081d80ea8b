import type { EvalTaskInfo, EvalTaskPreview } from '../../../src-preload/contract'
import { builtinTaskFiles, loadTaskFile } from '../../eval/tasks'
import { previewTask, readTaskRef, taskInfo } from '../../eval/task-info'
import { TargetEngine } from '../../eval/target-engine'
import type { JobKind } from '../protocol'

export type EvalInspectInput =
  /** Every built-in task's description. */
  | { what: 'builtins' }
  /** Each task (built-in name or file) read and identified, for evaluations.start. */
  | { what: 'tasks'; tasks: string[] }
  /** One task with its first documents rendered (with modelDir's chat template when asked). */
  | { what: 'preview'; task: string; numFewshot?: number; chatModelDir?: string }

export type EvalInspectOutput =
  | { what: 'builtins'; tasks: EvalTaskInfo[] }
  | { what: 'tasks'; tasks: (EvalTaskInfo & { hash: string })[] }
  | { what: 'preview'; preview: EvalTaskPreview }

/**
 * Reads task files in a worker: a task's data can be tens of megabytes to parse (MMLU's 14,042
 * questions), which must not hold up the thread that answers the app.
 */
export const evalInspectJob: JobKind<EvalInspectInput, EvalInspectOutput> = {
  kind: 'eval.inspect',
  summary: 'Read evaluation task files: what they hold, their hash, their first prompts',
  async run(input) {
    if (input.what === 'builtins') {
      const tasks: EvalTaskInfo[] = []
      for (const builtin of builtinTaskFiles()) {
        const { hash: _hash, ...info } = taskInfo(await loadTaskFile(builtin.file), true)
        tasks.push({ ...info, name: builtin.name })
      }
      return { what: 'builtins', tasks }
    }
    if (input.what === 'tasks') {
      const tasks = []
      for (const ref of input.tasks) {
        const { file, builtin } = await readTaskRef(ref)
        tasks.push(taskInfo(file, builtin))
      }
      return { what: 'tasks', tasks }
    }
    const { file, builtin } = await readTaskRef(input.task)
    const renderChat = input.chatModelDir
      ? new TargetEngine({ modelDir: input.chatModelDir, adapterDir: null }, {}, true).renderChat
      : undefined
    return {
      what: 'preview',
      preview: previewTask(file, builtin, { numFewshot: input.numFewshot, renderChat })
    }
  }
}
