/**
 * Rollout throughput for GRPO: G sampled completions of one prompt generated on live weights (a
 * LoRA fed as graph inputs, engine/infer/live-generation.ts), against PyTorch eager doing the same
 * in the same run (bench/reference/torch_rollouts.py): SmolLM-135M shape, random weights, LoRA r 16
 * on q_proj and v_proj, 64-token prompt, 64 new tokens (quick: 2 layers, 16 tokens), temperature 1.
 *
 *   npm run bench:rollouts [-- --quick] [-- --no-torch]
 */
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { benchPaths, median, runTorchReference, writeRandomModel } from './bench-model'
import { readModelConfig } from '../src-main/engine/checkpoint/hf-config'
import { loraModules, peftTensorName } from '../src-main/engine/checkpoint/peft'
import { LiveGenerator, type LiveWeights } from '../src-main/engine/infer/live-generation'
import { Rng } from '../src-main/engine/rng'

const { values: flags } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, 'no-torch': { type: 'boolean', default: false } }
})
const quick = flags.quick ?? false
const RANK = 16
const NEW_TOKENS = quick ? 16 : 64
const REPEATS = quick ? 1 : 3
const COUNTS = [1, 8]

interface TorchReport {
  rollouts: { count: number; tokens_per_s: number }[]
}

const modelDir = writeRandomModel(quick)
const config = readModelConfig(modelDir)
const modules = loraModules(config, ['q_proj', 'v_proj'])
const rng = Rng.fromSeed(5)
const random = (count: number) => Float32Array.from({ length: count }, () => rng.uniform(-0.02, 0.02))
const weights: LiveWeights = new Map(
  modules.flatMap((m) => [
    [peftTensorName(m.modulePath, 'A'), { shape: [RANK, m.inFeatures], data: random(RANK * m.inFeatures) }],
    [peftTensorName(m.modulePath, 'B'), { shape: [m.outFeatures, RANK], data: random(m.outFeatures * RANK) }]
  ])
)
const prompt = Array.from({ length: 64 }, (_, i) => (i * 7919 + 13) % config.vocabSize)
const generator = await LiveGenerator.open(
  { modelDir },
  { kind: 'lora', r: RANK, scaling: 2, modules },
  { cacheDir: benchPaths(quick).cacheDir, threads: 2 }
)
const options = { temperature: 1, maxNewTokens: NEW_TOKENS, seed: 7, eosTokenIds: [] }

/** Median tokens/s of `count` completions, generated as one batch or one by one. */
async function tokensPerSecond(count: number, batched: boolean): Promise<number> {
  const run = async () => {
    const started = performance.now()
    if (batched) await generator.rollouts(prompt, weights, { ...options, count })
    else
      for (let i = 0; i < count; i++)
        await generator.rollouts(prompt, weights, { ...options, count: 1, seed: i })
    return (performance.now() - started) / 1000
  }
  await run()
  const seconds: number[] = []
  for (let i = 0; i < REPEATS; i++) seconds.push(await run())
  return (count * NEW_TOKENS) / median(seconds)
}

const loadBefore = loadavg()[0].toFixed(2)
const ours = new Map<number, number>()
for (const count of COUNTS) ours.set(count, await tokensPerSecond(count, true))
const oneByOne = await tokensPerSecond(8, false)
await generator.release()
const torch = flags['no-torch'] ? null : runTorchReference<TorchReport>('torch_rollouts.py', quick)

console.log(
  `SmolLM-135M shape${quick ? ' (quick: 2 layers)' : ''}, fp32, 2 threads; LoRA r ${RANK} (q, v) fed as inputs; ` +
    `64-token prompt, ${NEW_TOKENS} new tokens, temperature 1; load average before ${loadBefore}, after ${loadavg()[0].toFixed(2)}`
)
console.log(
  `${'rollout tokens/s'.padEnd(40)} ${'ours'.padStart(8)} ${'PyTorch'.padStart(8)} ${'ratio'.padStart(7)}`
)
for (const count of COUNTS) {
  const theirs = torch?.rollouts.find((r) => r.count === count)?.tokens_per_s
  const mine = ours.get(count)!
  console.log(
    `${`G = ${count}, one batch`.padEnd(40)} ${mine.toFixed(1).padStart(8)} ${(theirs?.toFixed(1) ?? '–').padStart(8)} ${(theirs ? `${(mine / theirs).toFixed(2)}×` : '–').padStart(7)}`
  )
}
console.log(`${'G = 8, one completion at a time'.padEnd(40)} ${oneByOne.toFixed(1).padStart(8)}`)
console.log(`batching gain at G = 8: ${(ours.get(8)! / oneByOne).toFixed(2)}×`)
