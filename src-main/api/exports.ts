/**
 * exports.*: a base model, a completed run's result or a checkpoint written for other tools, as a
 * job ("engine.export"), recorded with its lineage before the job starts and finished when it
 * ends. An export goes into the store (`<store>/exports/<id>/`, removed with its record) unless
 * the user names a path outside it (write-paths.ts checks it; exports.delete leaves it alone).
 */
import {
  closeSync,
  createWriteStream,
  existsSync,
  fsyncSync,
  openSync,
  renameSync,
  rmSync,
  statSync
} from 'node:fs'
import { copyFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { ExportRecord, ExportStarted, ParsedInput } from '../../src-preload/contract'
import {
  ENGINE_EXPORT_JOB,
  type EngineExportInput,
  type EngineExportOutput
} from '../jobs/kinds/engine-export'
import { modelfilePathFor } from '../jobs/kinds/gguf-export'
import { temporaryPathBeside } from '../engine/checkpoint/atomic-write'
import { ApiError, notFound } from './errors'
import { tarEntriesOf, writeTar } from './exports-tar'
import type { Handlers, RequestContext } from './handlers'
import { checkpointTarget, runResultTarget, baseModelTarget, type WeightsTarget } from './weights-target'
import { checkOutputFile, checkOutputFolder } from './write-paths'

type StartInput = ParsedInput<'exports.start'>

/** The folder of export `id` inside the store; everything the export wrote is in it. */
export function storeExportFolder(storeDir: string, id: number): string {
  return join(storeDir, 'exports', String(id))
}

/** A file or folder name from a label: letters, digits, dot, dash and underscore only. */
export function fileNameFrom(label: string): string {
  const name = label
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '')
    .slice(0, 80)
  return name || 'export'
}

interface ResolvedSource {
  target: WeightsTarget
  sourceKind: 'model' | 'run' | 'checkpoint'
  baseModelId: number
  step: number | null
  /** The weights are a LoRA adapter over the base model (a PEFT export is possible). */
  lora: boolean
}

function isLoraRun(ctx: RequestContext, runId: number): boolean {
  const run = ctx.store.runs.getRecord(runId)!
  return (run.config.adapter as { kind?: string } | undefined)?.kind !== 'full'
}

function resolveSource(ctx: RequestContext, input: StartInput): ResolvedSource {
  const operation = 'exports.start'
  if (input.baseModelId !== undefined) {
    const target = baseModelTarget(ctx, operation, input.baseModelId)
    return { target, sourceKind: 'model', baseModelId: input.baseModelId, step: null, lora: false }
  }
  if (input.runId !== undefined) {
    const target = runResultTarget(ctx, operation, input.runId)
    const baseModelId = ctx.store.runs.getRecord(input.runId)!.baseModelId
    return { target, sourceKind: 'run', baseModelId, step: null, lora: target.adapterDir !== null }
  }
  const target = checkpointTarget(ctx, operation, input.checkpointId!)
  const checkpoint = ctx.store.runs.checkpoint(input.checkpointId!)!
  return {
    target,
    sourceKind: 'checkpoint',
    baseModelId: ctx.store.runs.getRecord(checkpoint.runId)!.baseModelId,
    step: checkpoint.step,
    lora: isLoraRun(ctx, checkpoint.runId)
  }
}

/** hf: its dtype; gguf: its tensor type; peft: nothing to choose. */
function variantOf(input: StartInput): string {
  if (input.format === 'hf') return input.dtype
  return input.format === 'gguf' ? input.ggufType : ''
}

/** Where a user-named export goes, checked before anything is recorded. */
function checkedUserPath(ctx: RequestContext, input: StartInput, path: string): string {
  const options = { overwrite: input.overwrite, overwriteFlag: 'overwrite' }
  if (input.format !== 'gguf') {
    return checkOutputFolder('exports.start', ctx.store.dir, path, { ...options, continuing: false })
  }
  if (!/\.gguf$/i.test(path)) {
    throw new ApiError('invalid_input', `exports.start: a GGUF export is a .gguf file, got ${path}`)
  }
  const file = checkOutputFile('exports.start', ctx.store.dir, path, options)
  // The Ollama Modelfile written beside it must not replace a file unasked either.
  checkOutputFile('exports.start', ctx.store.dir, modelfilePathFor(file), options)
  return file
}

function startExport(ctx: RequestContext, input: StartInput): ExportStarted {
  const source = resolveSource(ctx, input)
  if (input.format === 'peft' && !source.lora) {
    throw new ApiError(
      'invalid_input',
      `exports.start: ${source.target.label} is a whole model, not a LoRA adapter; export it as hf or gguf`
    )
  }
  const userPath = input.path === undefined ? null : checkedUserPath(ctx, input, input.path)
  const variant = variantOf(input)
  const record = ctx.store.exports.add({
    sourceKind: source.sourceKind,
    baseModelId: source.baseModelId,
    runId: source.target.runId,
    checkpointId: input.checkpointId ?? null,
    step: source.step,
    sourceLabel: source.target.label,
    format: input.format,
    variant,
    inStore: userPath === null
  })
  const name = fileNameFrom([source.target.label, input.format, variant].filter(Boolean).join('-'))
  const outPath =
    userPath ??
    join(storeExportFolder(ctx.store.dir, record.id), input.format === 'gguf' ? `${name}.gguf` : name)
  const jobInput: EngineExportInput = {
    format: input.format,
    modelDir: source.target.modelDir,
    adapterDir: source.target.adapterDir,
    checkpointDir: source.target.checkpointDir,
    dtype: input.dtype,
    ggufType: input.ggufType,
    outPath
  }
  const job = ctx.jobs.submit(ENGINE_EXPORT_JOB, jobInput, {
    lane: 'exports',
    isolation: 'process',
    onResult: (value) => {
      ctx.store.exports.finish(record.id, { status: 'completed', bytes: (value as EngineExportOutput).bytes })
      return value
    }
  })
  void ctx.jobs.wait(job.id).then((done) => {
    if (done.status === 'completed') return
    ctx.store.exports.finish(record.id, {
      status: done.status === 'cancelled' ? 'cancelled' : 'failed',
      error: done.error ?? done.status
    })
    if (record.inStore) rmSync(storeExportFolder(ctx.store.dir, record.id), { recursive: true, force: true })
  })
  return { jobId: job.id, export: ctx.store.exports.started(record.id, outPath, job.id) }
}

/** Forgets an export; removes its store folder (never a path the user named). */
function deleteExport(ctx: RequestContext, id: number): { deleted: boolean; filesRemoved: boolean } {
  const record = ctx.store.exports.get(id)
  if (!record) throw notFound('export', id)
  if (record.status === 'running') {
    throw new ApiError(
      'conflict',
      `exports.delete: export ${id} is still being written (job ${record.jobId}); cancel the job first`
    )
  }
  const folder = storeExportFolder(ctx.store.dir, id)
  const filesRemoved = record.inStore && existsSync(folder)
  if (filesRemoved) rmSync(folder, { recursive: true, force: true })
  return { deleted: ctx.store.exports.delete(id), filesRemoved }
}

/** A completed export whose files are still there, for a download or a copy. */
export function completedExport(ctx: RequestContext, operation: string, id: number): ExportRecord {
  const record = ctx.store.exports.get(id)
  if (!record) throw new ApiError('not_found', `${operation}: export ${id} does not exist`)
  if (record.status !== 'completed') {
    throw new ApiError('conflict', `${operation}: export ${id} is ${record.status}, not completed`)
  }
  if (!existsSync(record.path)) {
    throw new ApiError('not_found', `${operation}: export ${id}: ${record.path} is gone`)
  }
  return record
}

/**
 * Copies a completed export to a path the user names, as a download would give it: a file as it
 * is, a folder as a .tar (exports-tar.ts). Written beside the destination, flushed and renamed.
 */
async function saveCopy(
  ctx: RequestContext,
  input: ParsedInput<'exports.saveCopy'>
): Promise<{ path: string; bytes: number }> {
  const record = completedExport(ctx, 'exports.saveCopy', input.id)
  const isFolder = statSync(record.path).isDirectory()
  if (isFolder && !/\.tar$/i.test(input.path)) {
    throw new ApiError(
      'invalid_input',
      `exports.saveCopy: export ${input.id} is a folder, saved as a .tar file; got ${input.path}`
    )
  }
  const path = checkOutputFile('exports.saveCopy', ctx.store.dir, input.path, {
    overwrite: input.overwrite,
    overwriteFlag: 'overwrite'
  })
  const temporary = temporaryPathBeside(path)
  try {
    if (isFolder) {
      const out = createWriteStream(temporary)
      await writeTar(out, tarEntriesOf(record.path, basename(record.path)))
      await new Promise<void>((done, fail) =>
        out.end((error?: Error | null) => (error ? fail(error) : done()))
      )
    } else {
      await copyFile(record.path, temporary)
    }
    const fd = openSync(temporary, 'r+')
    fsyncSync(fd)
    closeSync(fd)
    renameSync(temporary, path)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw error
  }
  return { path, bytes: statSync(path).size }
}

export const exportHandlers: Pick<
  Handlers,
  'exports.start' | 'exports.list' | 'exports.saveCopy' | 'exports.delete'
> = {
  'exports.start': (input, ctx) => startExport(ctx, input),
  'exports.list': (input, ctx) => ctx.store.exports.list(input),
  'exports.saveCopy': (input, ctx) => saveCopy(ctx, input),
  'exports.delete': (input, ctx) => deleteExport(ctx, input.id)
}
