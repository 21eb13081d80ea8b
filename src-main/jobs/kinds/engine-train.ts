/**
 * `engine.train`: the trainer loop in a job worker. Cancelling the job is a cooperative stop: the
 * step in flight finishes, a checkpoint is saved, and the job ends with status "stopped" in its
 * result (resume from `lastCheckpoint`). Pausing the job holds the loop at the next step boundary
 * (after the step's event), with the model and optimizer state loaded, until it is resumed.
 *
 * What it reports:
 *  - progress: done = step, total = total steps, message = one human-readable line per step;
 *  - output: one JSON line per trainer event (start, step, eval, checkpoint), for callers that
 *    chart or store metrics (`JSON.parse` each line; see TrainEvent);
 *  - log: the data summary (rows dropped and why), evaluations and checkpoints, in words.
 */
import {
  isPipelineConfig,
  resolvePipelineConfig,
  trainPipeline,
  type PipelineConfig
} from '../../engine/train/pipeline'
import { resolveTrainConfig, type TrainConfigInput } from '../../engine/train/train-config'
import {
  train,
  type TrainerOptions,
  type TrainEvent,
  type TrainProgress,
  type TrainResult
} from '../../engine/train/trainer'
import { resolveRecipe } from '../../recipes/index'
import type { JobContext, JobKind } from '../protocol'

/** One run's configuration, or a pipeline of stages (engine/train/pipeline.ts). */
export type EngineTrainInput = TrainConfigInput | PipelineConfig

export const engineTrainJob: JobKind<EngineTrainInput, TrainResult> = {
  kind: 'engine.train',
  summary: 'Fine-tune a model (LoRA or full) and export the adapter or model',
  async run(input, ctx) {
    const options: TrainerOptions = {
      resolveRecipe,
      signal: ctx.signal,
      onEvent: async (event) => {
        report(event, ctx)
        // The trainer waits for this promise: the step boundary is where a pause holds.
        if (event.type === 'start' || event.type === 'step') await ctx.pausePoint()
      }
    }
    if (isPipelineConfig(input)) return trainPipeline(resolvePipelineConfig(input, resolveRecipe), options)
    return train(resolveTrainConfig(input, resolveRecipe), options)
  }
}

function report(event: TrainEvent, ctx: JobContext): void {
  ctx.output(JSON.stringify(event) + '\n')
  switch (event.type) {
    case 'start': {
      const from = event.resumedFrom ? `, resuming from ${event.resumedFrom} at step ${event.startStep}` : ''
      const stage = event.stage ? `stage ${event.stage}: ` : ''
      ctx.log(
        'info',
        `${stage}training on ${event.examples} examples (${event.rows} rows, ${event.truncated} truncated), ` +
          `${event.stage ? `steps to ${event.totalSteps}` : `${event.totalSteps} steps`}, ${event.trainableTensors} trainable tensors${from}`
      )
      for (const dropped of event.dropped.slice(0, 20)) {
        ctx.log('warn', `line ${dropped.line} of the data was dropped: ${dropped.reason}`)
      }
      if (event.dropped.length > 20) ctx.log('warn', `… and ${event.dropped.length - 20} more rows dropped`)
      return
    }
    case 'step':
      ctx.progress(event.step, event.totalSteps, formatTrainProgress(event))
      return
    case 'eval':
      ctx.log(
        'info',
        `step ${event.step}: held-out loss ${event.loss.toFixed(4)} over ${event.tokens} tokens`
      )
      return
    case 'checkpoint':
      ctx.log('info', `step ${event.step}: checkpoint saved to ${event.dir}`)
      return
  }
}

/** `step 3/30  loss 2.4512  lr 1.00e-4  grad-norm 1.234  4512 tok/s  elapsed 0:03  ETA 0:27`. */
export function formatTrainProgress(
  p: Pick<
    TrainProgress,
    'step' | 'totalSteps' | 'loss' | 'lr' | 'gradNorm' | 'tokensPerSecond' | 'elapsedSeconds' | 'etaSeconds'
  >
): string {
  return [
    `step ${p.step}/${p.totalSteps}`,
    `loss ${p.loss.toFixed(4)}`,
    `lr ${p.lr.toExponential(2)}`,
    `grad-norm ${p.gradNorm.toPrecision(4)}`,
    `${Math.round(p.tokensPerSecond)} tok/s`,
    `elapsed ${formatDuration(p.elapsedSeconds)}`,
    `ETA ${formatDuration(p.etaSeconds)}`
  ].join('  ')
}

/** h:mm:ss, or m:ss under an hour. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}
