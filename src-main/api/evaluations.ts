import type { EvalTaskInfo } from '../../src-preload/contract'
import { inspectTasks, startEvaluations } from './eval-launcher'
import { evaluationDiff, evaluationMatrix } from './eval-views'
import { ApiError, notFound } from './errors'
import type { Handlers, RequestContext } from './handlers'

/** The built-ins change only with the app, and reading them all takes seconds: read once per process. */
let builtinTasks: Promise<EvalTaskInfo[]> | null = null

function listBuiltinTasks(ctx: RequestContext): Promise<EvalTaskInfo[]> {
  builtinTasks ??= inspectTasks(ctx, 'evaluations.tasks', { what: 'builtins' }).then((out) => out.tasks)
  builtinTasks.catch(() => (builtinTasks = null))
  return builtinTasks
}

export const evaluationHandlers: Pick<
  Handlers,
  | 'evaluations.tasks'
  | 'evaluations.inspectTask'
  | 'evaluations.start'
  | 'evaluations.list'
  | 'evaluations.get'
  | 'evaluations.items'
  | 'evaluations.diff'
  | 'evaluations.matrix'
  | 'evaluations.delete'
> = {
  'evaluations.tasks': (_input, ctx) => listBuiltinTasks(ctx),
  'evaluations.inspectTask': async (input, ctx) => {
    const model = input.baseModelId === undefined ? null : ctx.store.models.get(input.baseModelId)
    if (input.baseModelId !== undefined && !model) throw notFound('base model', input.baseModelId)
    if (input.applyChatTemplate && !model) {
      throw new ApiError(
        'invalid_input',
        'evaluations.inspectTask: rendering with a chat template needs baseModelId (whose template to use)'
      )
    }
    const { preview } = await inspectTasks(ctx, 'evaluations.inspectTask', {
      what: 'preview',
      task: input.task,
      numFewshot: input.numFewshot,
      chatModelDir: input.applyChatTemplate && model ? model.path : undefined
    })
    return preview
  },
  'evaluations.start': (input, ctx) => startEvaluations(ctx, input),
  'evaluations.list': (input, ctx) => ctx.store.evaluations.list(input),
  'evaluations.get': (input, ctx) => {
    const evaluation = ctx.store.evaluations.get(input.id)
    if (!evaluation) throw notFound('evaluation', input.id)
    return evaluation
  },
  'evaluations.items': (input, ctx) => {
    if (!ctx.store.evaluations.get(input.id)) throw notFound('evaluation', input.id)
    return ctx.store.evaluations.items(input.id, input.only, input)
  },
  'evaluations.diff': (input, ctx) => evaluationDiff(ctx, input),
  'evaluations.matrix': (input, ctx) => evaluationMatrix(ctx, input),
  'evaluations.delete': (input, ctx) => {
    const evaluation = ctx.store.evaluations.get(input.id)
    if (!evaluation) throw notFound('evaluation', input.id)
    if (evaluation.status === 'queued' || evaluation.status === 'running') {
      throw new ApiError(
        'conflict',
        `evaluations.delete: evaluation ${input.id} is ${evaluation.status}; cancel its job first`
      )
    }
    return { deleted: ctx.store.evaluations.delete(input.id) }
  }
}
