/**
 * Evaluation tasks in the lm-evaluation-harness convention: the module's public face. The
 * format, our extensions and the built-in suite are described in docs/EVALUATION.md.
 *
 *   const task = await loadTask(file)                  // or loadTaskGroup / loadTaskFile
 *   const requests = buildRequests(task, { numFewshot, limit, renderChat })
 *   … the runner asks the model (EvalDocRequest.request → EvalResponse) …
 *   const scores = requests.map((r, i) => scoreDoc(task, r, responses[i]))
 *   const metrics = aggregate(task, scores)            // { "acc,none": { value, stderr, … } }
 */
export {
  aggregate,
  aggregateGroup,
  metricKey,
  DEFAULT_BOOTSTRAP_ITERS,
  type AggregateOptions
} from './aggregate'
export { builtinTaskFile, builtinTaskFiles, listBuiltinTasks, type BuiltinTask } from './builtin'
export { TaskFileError, type RowPlace } from './errors'
export { loadTask, loadTaskFile, loadTaskGroup } from './load'
export { boxedAnswer, mathAnswersEqual, normaliseMathAnswer } from './math-answer'
export { buildRequests, DEFAULT_FEWSHOT_SEED } from './requests'
export { scoreDoc } from './scoring'
export type * from './types'
