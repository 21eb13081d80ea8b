/**
 * `finetune-studio train --pipeline FILE`: a run of stages (engine/train/pipeline.ts) from a JSON
 * file, each stage with its recipe, data and schedule, the next starting from the previous one's
 * result. The command's flags are every stage's settings (model, out, adapter, seed, device, and
 * the defaults of lr, batch size, …); a stage's own fields override them:
 *
 *   {"stages": [
 *     {"recipe": "sft", "data": "requests.jsonl", "maxSteps": 8, "lr": 0.001},
 *     {"recipe": "grpo", "data": "requests.jsonl", "rewards": "spec.json", "overlap": 1,
 *      "recipeParams": {"group_size": 4}, "maxSteps": 30},
 *     {"recipe": "sft", "mixture": [{"data": "math.jsonl", "ratio": 3}, {"data": "chat.jsonl", "ratio": 1}]}
 *   ]}
 *
 * Paths are relative to the file. Each stage's rows are composed before anything trains (a mixture
 * by ratio, the overlap of its prompts with the earlier stages', datasets/mixture.ts) and written to
 * OUT/data/stage-<k>/train.jsonl, the data that stage trains on; composing is seeded, so a resumed
 * pipeline writes the same rows again.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { z } from 'zod'
import { writeTextFileAtomically } from '../../engine/checkpoint/atomic-write'
import { MAX_STAGES, resolvePipelineConfig, type PipelineConfig } from '../../engine/train/pipeline'
import type { TrainConfigInput } from '../../engine/train/train-config'
import { composeStageRows, promptKey, type PromptRow } from '../../datasets/mixture'
import { resolveRecipe } from '../../recipes/index'
import { UsageError } from '../command'

const stageFileSchema = z
  .object({
    recipe: z.string().min(1),
    recipeParams: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])).optional(),
    rewards: z.string().min(1).optional(),
    data: z.string().min(1).optional(),
    mixture: z
      .array(z.object({ data: z.string().min(1), ratio: z.number().positive() }).strict())
      .min(1)
      .max(8)
      .optional(),
    rows: z.number().int().min(1).optional(),
    overlap: z.number().min(0).max(1).optional(),
    maxSteps: z.number().int().min(1).optional(),
    epochs: z.number().int().min(1).optional(),
    lr: z.number().positive().optional(),
    lrScheduler: z.enum(['constant', 'linear', 'cosine']).optional(),
    warmupSteps: z.number().int().min(0).optional(),
    batchSize: z.number().int().min(1).optional(),
    gradAccum: z.number().int().min(1).optional(),
    evalData: z.string().min(1).optional()
  })
  .strict()
  .refine((stage) => (stage.data === undefined) !== (stage.mixture === undefined), {
    message: 'give "data" or "mixture", one of them'
  })
  .refine((stage) => stage.maxSteps === undefined || stage.epochs === undefined, {
    message: 'give "maxSteps" or "epochs", not both'
  })

const pipelineFileSchema = z.object({ stages: z.array(stageFileSchema).min(1).max(MAX_STAGES) }).strict()

export type PipelineFile = z.infer<typeof pipelineFileSchema>
type StageFile = PipelineFile['stages'][number]

/** The pipeline file, checked; errors name the file and the field. */
export function readPipelineFile(path: string): PipelineFile {
  let value: unknown
  try {
    value = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new UsageError(`--pipeline: cannot read ${path} as JSON: ${(error as Error).message}`)
  }
  const parsed = pipelineFileSchema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue.path
      .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
      .join('')
    throw new UsageError(`--pipeline: ${path}: ${where || 'the file'}: ${issue.message}`)
  }
  return parsed.data
}

/**
 * The pipeline's configuration: `base` (what the flags say) under each stage's own fields, with
 * each stage's data composed into `base.outDir`/data/stage-<k>.
 */
export function pipelineConfigFrom(
  file: string,
  pipeline: PipelineFile,
  base: Omit<TrainConfigInput, 'dataFile'>,
  log: (line: string) => void
): PipelineConfig {
  const folder = dirname(resolve(file))
  const at = (path: string) => resolve(folder, path)
  const seen = new Set<string>()
  const stages = pipeline.stages.map((stage, index) => {
    const where = `${file}: stage ${index + 1}`
    const rows = stageRowsOf(stage, at, base.seed ?? 42, seen, where, log)
    for (const row of rows) seen.add(promptKey(row))
    const dataFile = join(base.outDir, 'data', `stage-${index + 1}`, 'train.jsonl')
    mkdirSync(dirname(dataFile), { recursive: true })
    writeTextFileAtomically(dataFile, rows.map((row) => JSON.stringify(row)).join('\n') + '\n')
    return stageInput(stage, base, dataFile, at, where)
  })
  try {
    return resolvePipelineConfig(
      { outDir: base.outDir, stages, resumeFrom: base.resumeFrom ?? null },
      resolveRecipe
    )
  } catch (error) {
    throw new UsageError(`--pipeline ${file}: ${(error as Error).message.replace(/train: /, '')}`)
  }
}

function stageInput(
  stage: StageFile,
  base: Omit<TrainConfigInput, 'dataFile'>,
  dataFile: string,
  at: (path: string) => string,
  where: string
): TrainConfigInput {
  const length =
    stage.maxSteps === undefined && stage.epochs === undefined
      ? {}
      : { maxSteps: stage.maxSteps ?? null, epochs: stage.epochs ?? null }
  const rewards =
    stage.rewards === undefined ? {} : { rewards: readText(at(stage.rewards), `${where}: rewards`) }
  return {
    ...base,
    ...length,
    dataFile,
    recipe: { name: stage.recipe, params: { ...stage.recipeParams, ...rewards } },
    lr: stage.lr ?? base.lr,
    lrScheduler: stage.lrScheduler ?? base.lrScheduler,
    warmupSteps: stage.warmupSteps ?? base.warmupSteps,
    batchSize: stage.batchSize ?? base.batchSize,
    gradAccum: stage.gradAccum ?? base.gradAccum,
    evalDataFile: stage.evalData ? at(stage.evalData) : null,
    resumeFrom: null
  }
}

/** A stage's rows: its data file, or its mixture; with `overlap`, chosen against the earlier stages' prompts. */
function stageRowsOf(
  stage: StageFile,
  at: (path: string) => string,
  seed: number,
  seen: ReadonlySet<string>,
  where: string,
  log: (line: string) => void
): PromptRow[] {
  try {
    const sources = stage.mixture ?? [{ data: stage.data!, ratio: 1 }]
    const { rows, taken, overlap } = composeStageRows(
      stage.mixture || stage.rows !== undefined
        ? {
            sources: sources.map((source) => ({
              label: source.data,
              rows: readRows(at(source.data)),
              ratio: source.ratio
            })),
            size: stage.rows
          }
        : { rows: readRows(at(stage.data!)) },
      seen.size === 0 ? null : { keyOf: promptKey, seenPrompts: seen, overlap: stage.overlap },
      seed
    )
    if (stage.mixture && taken)
      log(`${where}: mixed ${taken.map((n, i) => `${n} rows of ${sources[i].data}`).join(', ')}`)
    if (overlap?.share === null) {
      log(`${where}: ${overlap.seen} of ${rows.length} rows ask a prompt an earlier stage trains on`)
    } else if (overlap) {
      log(`${where}: ${overlap.seen} rows with prompts an earlier stage trains on, ${overlap.unseen} without`)
    }
    return rows
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw new UsageError(`--pipeline ${where}: ${(error as Error).message}`)
  }
}

/** A JSONL file's rows, parsed; errors name the file and line. */
function readRows(path: string): PromptRow[] {
  return readText(path, 'data')
    .split('\n')
    .map((line, index) => ({ line, number: index + 1 }))
    .filter(({ line }) => line.trim() !== '')
    .map(({ line, number }) => {
      try {
        return JSON.parse(line) as PromptRow
      } catch (error) {
        throw new UsageError(`--pipeline: ${path}:${number}: not JSON: ${(error as Error).message}`)
      }
    })
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new UsageError(`--pipeline: ${what}: cannot read ${path}: ${(error as Error).message}`)
  }
}
