import { loadBenchmark, runBenchmark, type BenchmarkRunResult } from '../../eval/benchmark'
import type { Device } from '../../engine/runtime/devices'
import type { JobKind } from '../protocol'

export interface EvalBenchmarkInput {
  benchmark: string
  modelDir: string
  adapterDir?: string | null
  device?: Device
  cacheDir?: string
}

/** Runs a built-in benchmark on a model (+ adapter) in a worker: completions, scores, held-out loss. */
export const evalBenchmarkJob: JobKind<EvalBenchmarkInput, BenchmarkRunResult> = {
  kind: 'eval.benchmark',
  summary: 'Evaluate a model on a built-in benchmark',
  async run(input, ctx) {
    const spec = loadBenchmark(input.benchmark)
    return runBenchmark(spec, {
      modelDir: input.modelDir,
      adapterDir: input.adapterDir,
      device: input.device,
      cacheDir: input.cacheDir,
      signal: ctx.signal,
      onProgress: (done, total, message) => ctx.progress(done, total, message)
    })
  }
}
