/**
 * `runs.preflight`: everything runs.start would do short of training — the base model validated,
 * the dataset version written and read exactly as the trainer reads it (in a `train.preflight`
 * job), the step plan — plus estimates of memory and time, so the user confirms a run knowing what
 * it will cost.
 *
 * Estimates are deliberately simple and say how they were made (RunPreflight.estimate.basis):
 *
 *  memory (engine/train/memory-estimate.ts): the peak of a training step with the run's settings,
 *  its formula calibrated against the measured peak RSS of training steps (bench/memory-estimate.ts,
 *  within 6 % on the SmolLM-135M and Qwen2.5-0.5B shapes, LoRA, for every base precision, with and
 *  without recomputation)
 *    weights      the frozen base as stored in the run's base precision (fp32 4 bytes a value, fp16/
 *                 bf16 2, int8 34/32, int4 18/32; norms and biases float32), plus the copies
 *                 onnxruntime pre-packs of a float32 base's matrices, once per session the run opens
 *                 (step; eval with validation data; two more with gradient accumulation)
 *    trainable    4·T for the T trainable values (LoRA: r·(in + out) per adapted projection and
 *                 layer; full: every weight, less the embeddings when frozen)
 *    optimizer    their gradients 4·T, plus AdamW's two moments 8·T (SGD with momentum 4·T)
 *    activations  what the backward pass keeps of the decoder layers for a micro-batch of B rows × S
 *                 tokens (S = the longest kept example, at most maxSeqLen): every layer's, or with
 *                 recomputation each layer's input and one layer's activations at a time
 *    logits       the LM head's logits, log-softmax and gradient: one chunk of the B·S tokens as the
 *                 trainer splits them, or whole (twice) with a recipe that also runs the base model
 *    runtime      the Node process with the engine and onnxruntime loaded (measured), and the
 *                 float32 copies of the largest matrix while a base stored below float32 decodes it
 *  time per step
 *    measured     tokens per step ÷ the median tokens/s of the newest earlier run with the same base
 *                 model, adapter kind and device (its first 3 steps left out: they include warm-up)
 *    heuristic    otherwise: 6·P FLOPs per trained-through token (4·P for LoRA: no weight gradients
 *                 of the base; +2·P when the recipe runs the base model too) at an assumed 5 GFLOP/s
 *                 per CPU core, or 20 TFLOP/s on CUDA
 */
import { randomUUID } from 'node:crypto'
import { cpus, freemem } from 'node:os'
import { join } from 'node:path'
import { rmSync } from 'node:fs'
import type { PreflightStage, RunPreflight } from '../../src-preload/contract'
import { readModelConfig, type ModelConfig } from '../engine/checkpoint/hf-config'
import { cudaProviderInstalled } from '../engine/runtime/devices'
import { lossChunksFor } from '../engine/train/chunked-loss'
import { estimateTrainingMemory } from '../engine/train/memory-estimate'
import type { TrainConfig } from '../engine/train/train-config'
import type { TrainPreflightResult } from '../jobs/kinds/train-preflight'
import { getRecipe, type Recipe, type RecipeRequirement } from '../recipes'
import type { Store } from '../store'
import { ApiError, notFound } from './errors'
import type { RequestContext } from './handlers'
import { validateModel } from './model-validation'
import { resolveBenchmarkPlan } from './run-benchmarks'
import { checkRecipe, trainConfigFor, type RunSettings } from './run-launcher'
import { stageSettings, writeStagesData, type StageData } from './run-stages'
import { graphCacheDir } from '../store/location'

const CPU_FLOPS_PER_CORE = 5e9
const CUDA_FLOPS = 20e12
const DROPPED_SHOWN = 200

/**
 * The peak memory of a training step with the run's settings (engine/train/memory-estimate.ts):
 * as many onnxruntime sessions as the trainer opens (the step graph; the eval graph when there is
 * validation data; the two accumulation graphs when a step has several micro-batches), the loss in
 * the chunks the trainer chooses, sequences as long as the longest kept example.
 */
function memoryEstimate(
  config: TrainConfig,
  model: ModelConfig,
  longest: number
): RunPreflight['estimate']['memory'] {
  const seqLen = Math.max(1, Math.min(config.maxSeqLen, config.packing ? config.maxSeqLen : longest))
  const { needs } = getRecipe(config.recipe.name)
  return estimateTrainingMemory({
    model,
    adapter: config.adapter,
    optimizer: config.optimizer,
    basePrecision: config.basePrecision,
    recompute: config.recompute,
    lossChunks: lossChunksFor(model, config),
    batchSize: config.batchSize,
    seqLen,
    recipeNeedsBaseLogits: needs.baseModelLogits === true,
    recipeNeedsFullLogProbs: needs.fullLogProbs === true,
    openSessions: 1 + (config.evalDataFile ? 1 : 0) + (config.gradAccum > 1 ? 2 : 0)
  })
}

/** Median tokens/s of the newest earlier run like this one, with the run it came from. */
function measuredThroughput(
  store: Store,
  baseModelId: number,
  adapter: string,
  device: string
): { tokensPerSecond: number; runId: number } | null {
  for (const run of store.runs.list({ limit: 200 })) {
    if (run.baseModelId !== baseModelId || run.device !== device) continue
    const record = store.runs.getRecord(run.id)!
    if ((record.config.adapter as { kind?: string } | undefined)?.kind !== adapter) continue
    const values = store.runs
      .metrics(run.id, { name: 'tokens_per_s' })
      .filter((p) => p.step > 3 && p.value > 0)
      .map((p) => p.value)
      .sort((a, b) => a - b)
    if (values.length > 0) return { tokensPerSecond: values[Math.floor(values.length / 2)], runId: run.id }
  }
  return null
}

function timeEstimate(
  store: Store,
  input: RunSettings,
  config: TrainConfig,
  parameters: number,
  stats: TrainPreflightResult
): Pick<RunPreflight['estimate'], 'secondsPerStep' | 'totalSeconds' | 'basis'> {
  const measured = measuredThroughput(store, input.baseModelId, input.adapter, input.device)
  let secondsPerStep: number
  let basis: string
  if (measured) {
    secondsPerStep = stats.tokensPerStep / measured.tokensPerSecond
    basis =
      `measured: ${Math.round(measured.tokensPerSecond)} tokens/s (median) in run ${measured.runId} ` +
      `(same base model, ${input.adapter}, ${input.device}), ${Math.round(stats.tokensPerStep)} tokens per step`
  } else {
    const perToken =
      (config.adapter.kind === 'lora' ? 4 : 6) * parameters +
      (getRecipe(config.recipe.name).needs.baseModelLogits ? 2 * parameters : 0)
    const flops = input.device === 'cuda' ? CUDA_FLOPS : CPU_FLOPS_PER_CORE * cpus().length
    secondsPerStep = (perToken * stats.tokensPerStep) / flops
    basis =
      `heuristic (no earlier run of this model, adapter and device): ${config.adapter.kind === 'lora' ? 4 : 6}·P ` +
      `FLOPs per token at an assumed ${input.device === 'cuda' ? '20 TFLOP/s' : `5 GFLOP/s × ${cpus().length} cores`}, ` +
      `${Math.round(stats.tokensPerStep)} tokens per step; expect a factor of 2–5 either way`
  }
  return { secondsPerStep, totalSeconds: secondsPerStep * stats.plan.totalSteps, basis }
}

/**
 * The data checks a recipe's `requires` asks for, each giving what is wrong and what to do, or null.
 * Only preference data is checked here: reasoning steps and answers to check have no one marker in
 * a stored sample (where a step ends is a recipe's parameter, how an answer is checked its own
 * rule), so the recipes that need them deal with data that lacks them as they read it.
 */
const REQUIREMENT_CHECKS: Partial<
  Record<RecipeRequirement, (store: Store, recipe: Recipe, versionId: number) => string | null>
> = {
  'preference-data': (store, recipe, versionId) => {
    const { samples, pairs } = store.datasets.versionPreferenceCounts(versionId, 'train')
    const needs = `${recipe.name} needs preference data`
    if (pairs === 0) {
      return (
        `${needs}: this dataset version has no sample with a rejected response — import a preference ` +
        'dataset (chosen/rejected) or pick another recipe'
      )
    }
    if (pairs < samples) {
      return (
        `${needs}: ${samples - pairs} of the ${samples} train samples of this dataset version have no ` +
        'rejected response — give them one, or delete them and cut a new version'
      )
    }
    return null
  }
}

/** Why the dataset version cannot feed the recipe (its `requires`); empty when it can. */
export function recipeDataProblems(store: Store, recipe: Recipe, versionId: number): string[] {
  return (recipe.requires ?? [])
    .map((requirement) => REQUIREMENT_CHECKS[requirement]?.(store, recipe, versionId) ?? null)
    .filter((problem) => problem !== null)
}

async function readDataAsTrainer(ctx: RequestContext, config: TrainConfig): Promise<TrainPreflightResult> {
  const job = ctx.jobs.submit('train.preflight', { config }, { lane: 'preflight' })
  const finished = await ctx.jobs.wait(job.id)
  if (finished.status !== 'completed') {
    throw new ApiError('invalid_input', `runs.preflight: ${finished.error ?? finished.status}`)
  }
  return finished.result as TrainPreflightResult
}

export async function preflightRun(ctx: RequestContext, input: RunSettings): Promise<RunPreflight> {
  const stages = stageSettings(input)
  for (const stage of stages) checkRecipe(stage.recipe, 'runs.preflight')
  const model = ctx.store.models.get(input.baseModelId)
  if (!model || !ctx.store.models.isListed(model.id)) throw notFound('base model', input.baseModelId)
  const version = ctx.store.datasets.getVersion(input.datasetVersionId)
  if (!version) throw notFound('dataset version', input.datasetVersionId)
  const validation = await validateModel(ctx, model.path, 'runs.preflight')
  const errors = [...validation.errors]
  const warnings = [...validation.warnings]
  const empty: RunPreflight = {
    ok: false,
    errors,
    warnings,
    model: validation,
    recipe: { name: input.recipe, params: input.recipeParams },
    data: {
      trainSamples: 0,
      validationSamples: 0,
      examples: 0,
      truncated: 0,
      dropped: [],
      droppedCount: 0,
      tokens: { total: 0, trained: 0, meanPerExample: 0, maxPerExample: 0 },
      maxSeqLen: input.maxSeqLen ?? 0
    },
    preview: null,
    plan: { totalSteps: 0, stepsPerEpoch: 0, epochs: input.epochs ?? null, examplesPerStep: 0 },
    stages: [],
    estimate: {
      memory: { weights: 0, trainable: 0, optimizer: 0, activations: 0, total: 0 },
      secondsPerStep: 0,
      totalSeconds: 0,
      basis: 'not estimated: see the errors'
    }
  }
  if (!validation.ok) return empty
  // Data the recipe cannot train on would fail the trainer's read below with a less helpful message.
  const dataProblems = recipeDataProblems(ctx.store, getRecipe(input.recipe), version.id)
  if (dataProblems.length > 0) {
    errors.push(...dataProblems)
    return empty
  }
  if (input.device === 'cuda' && !cudaProviderInstalled()) {
    errors.push('device cuda: the CUDA execution provider is not installed (npm run setup:cuda)')
  }
  if (input.benchmarks) {
    try {
      await resolveBenchmarkPlan(ctx, 'benchmarks', input.benchmarks)
    } catch (error) {
      errors.push((error as Error).message)
    }
  }

  const dir = join(ctx.store.dir, 'tmp', `preflight-${randomUUID()}`)
  try {
    let stagesData: StageData[]
    try {
      stagesData = writeStagesData(ctx.store, input, join(dir, 'data'), 'runs.preflight')
    } catch (error) {
      errors.push((error as Error).message)
      return empty
    }
    const data = stagesData[0]
    empty.data.trainSamples = data.trainSampleIds.length
    empty.data.validationSamples = data.validationCount
    let config: TrainConfig
    try {
      config = trainConfigFor(stages[0], model.path, join(dir, 'out'), data, graphCacheDir(ctx.store.dir))
    } catch (error) {
      errors.push((error as Error).message)
      return empty
    }
    const stats = await readDataAsTrainer(ctx, config)
    const modelConfig = readModelConfig(model.path)
    const parameters = validation.parameterCount ?? model.parameterCount
    const sampleIdOfLine = (line: number) => data.trainSampleIds[line - 1] ?? null
    if (stats.examples === 0) {
      errors.push(`no usable training examples: all ${stats.rows} train samples were dropped`)
    }
    const lost = stats.dropped.filter((d) => d.kind === 'template_drops')
    if (lost.length > 0) {
      const first = lost[0]
      const what =
        `the chat template leaves content out of ${lost.length} of ${stats.rows} train samples ` +
        `(sample ${sampleIdOfLine(first.line) ?? `line ${first.line}`}: ${first.reason})`
      if (config.templateDrops === 'refuse') {
        errors.push(`${what}; fix them, or choose to skip them (templateDrops "skip")`)
      } else warnings.push(`${what}; they will be skipped`)
    }
    const others = stats.dropped.filter((d) => d.kind !== 'template_drops')
    if (others.length > 0) {
      const reasons = [...new Set(others.map((d) => d.reason))]
      const listed = reasons.slice(0, 5).join('; ') + (reasons.length > 5 ? '; …' : '')
      warnings.push(`${others.length} of ${stats.rows} train samples will be left out: ${listed}`)
    }
    if (stats.multiSequenceRows > 0) {
      warnings.push(
        `${stats.multiSequenceRows} train samples train as more than one sequence: a raw text longer than ` +
          `${config.maxSeqLen} tokens is cut into windows, and a turn the chat template renders differently ` +
          'later in the conversation (Qwen3 drops earlier reasoning) trains in a sequence of its own'
      )
    }
    if (stats.truncated > 0) {
      warnings.push(
        `${stats.truncated} train samples are longer than ${config.maxSeqLen} tokens and will be cut`
      )
    }
    const benchmarkEvery = input.benchmarks?.every ?? 0
    if (benchmarkEvery > stats.plan.totalSteps) {
      warnings.push(
        `benchmarks every ${benchmarkEvery} steps: the run has ${stats.plan.totalSteps}, so only its last checkpoint is evaluated`
      )
    }
    if (data.validationCount === 0) {
      warnings.push('the dataset version has no validation samples: eval_loss will not be measured')
    }
    const memory = memoryEstimate(config, modelConfig, stats.tokens.maxPerExample)
    if (memory.total > freemem() && input.device === 'cpu') {
      warnings.push(
        `the estimated memory (${(memory.total / 2 ** 30).toFixed(1)} GiB) is more than this machine has free now`
      )
    }
    const laterStages = await preflightLaterStages(ctx, stages, stagesData, join(dir, 'out'), errors)
    return {
      ok: errors.length === 0,
      errors,
      warnings,
      model: validation,
      recipe: { name: config.recipe.name, params: config.recipe.params },
      data: {
        trainSamples: data.trainSampleIds.length,
        validationSamples: data.validationCount,
        examples: stats.examples,
        truncated: stats.truncated,
        dropped: stats.dropped.slice(0, DROPPED_SHOWN).map((d) => ({
          sampleId: sampleIdOfLine(d.line),
          line: d.line,
          reason: d.reason,
          ...(d.kind ? { kind: d.kind } : {})
        })),
        droppedCount: stats.dropped.length,
        tokens: stats.tokens,
        maxSeqLen: config.maxSeqLen
      },
      preview: stats.preview && {
        sampleId: sampleIdOfLine(stats.preview.line),
        text: stats.preview.text,
        spans: stats.preview.spans,
        tokens: stats.preview.tokens,
        trainedTokens: stats.preview.trainedTokens
      },
      plan: stats.plan,
      stages: [preflightStage(1, config, data, stats), ...laterStages],
      estimate: { memory, ...timeEstimate(ctx.store, input, config, parameters, stats) }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function preflightStage(
  stage: number,
  config: TrainConfig,
  data: StageData,
  stats: TrainPreflightResult
): PreflightStage {
  return {
    stage,
    recipe: config.recipe.name,
    rows: data.report.rows,
    mixture: data.report.mixture,
    overlap: data.report.overlap,
    examples: stats.examples,
    droppedCount: stats.dropped.length,
    totalSteps: stats.plan.totalSteps
  }
}

/**
 * A pipeline's stages after the first, read as the trainer will read them: settings resolved, the
 * data the recipe needs, samples left out and the plan. Problems go to `errors`, naming the stage.
 */
async function preflightLaterStages(
  ctx: RequestContext,
  stages: RunSettings[],
  data: StageData[],
  outDir: string,
  errors: string[]
): Promise<PreflightStage[]> {
  const model = ctx.store.models.get(stages[0].baseModelId)!
  const planned: PreflightStage[] = []
  for (let index = 1; index < stages.length; index++) {
    const stage = stages[index]
    const name = `stage ${index + 1} (${stage.recipe})`
    const problems = recipeDataProblems(ctx.store, getRecipe(stage.recipe), stage.datasetVersionId)
    if (problems.length > 0) {
      errors.push(...problems.map((problem) => `${name}: ${problem}`))
      continue
    }
    try {
      const config = trainConfigFor(stage, model.path, outDir, data[index], graphCacheDir(ctx.store.dir))
      const stats = await readDataAsTrainer(ctx, config)
      if (stats.examples === 0) errors.push(`${name}: no usable training examples`)
      const lost = stats.dropped.filter((d) => d.kind === 'template_drops').length
      if (lost > 0 && config.templateDrops === 'refuse') {
        errors.push(`${name}: the chat template leaves content out of ${lost} train samples`)
      }
      planned.push(preflightStage(index + 1, config, data[index], stats))
    } catch (error) {
      errors.push(`${name}: ${(error as Error).message}`)
    }
  }
  return planned
}
