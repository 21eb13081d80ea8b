/**
 * The step program beyond the PyTorch goldens: accumulation, packing, caching, state, dropout, ASFT,
 * and the recipe interface (extra inputs, per-sample outputs, boolean and choice parameters, DPO pairs).
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { collateRows, type TrainingBatch } from '../../../src-main/engine/train/batches'
import { createStepProgram } from '../../../src-main/engine/train/compile-step'
import { mul, reduceSum, unsqueeze } from '../../../src-main/engine/graph/index'
import type { LossHook } from '../../../src-main/engine/train/loss-hook'
import type { StepProgramSpec } from '../../../src-main/engine/train/step-program'
import { tokenNll, weightedTokenMean } from '../../../src-main/recipes/loss-terms'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { tempDir } from '../../helpers/temp'
import { GOLDEN, randomExamples, goldenBatch } from './golden-batch'

const cache = tempDir()
afterAll(() => cache.cleanup())

const LLAMA = join(GOLDEN, 'llama-untied')
const QWEN2_TIED = join(GOLDEN, 'qwen2-tied')
const GIVEN_ADAPTER = join(GOLDEN, 'train-llama-untied', 'adapter')

function spec(overrides: Partial<StepProgramSpec> = {}): StepProgramSpec {
  return {
    modelDir: LLAMA,
    adapter: {
      kind: 'lora',
      r: 4,
      alpha: 8,
      dropout: 0,
      targets: ['q_proj', 'v_proj'],
      initAdapterDir: GIVEN_ADAPTER
    },
    optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 0.01 },
    recipe: resolveRecipe('sft'),
    device: 'cpu',
    cacheDir: cache.dir,
    seed: 7,
    packed: false,
    ...overrides
  }
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]))
  return worst
}

/** Σ log p per sample (in the order of batch.examples), from label-aligned token log-probs. */
function sampleLogProbs(batch: TrainingBatch, tokenLogProbs: Float32Array): number[] {
  const sums: number[] = []
  batch.examples.forEach((row, r) => {
    const first = sums.length
    sums.push(...row.map(() => 0))
    for (let t = r * batch.columns; t < (r + 1) * batch.columns; t++) {
      const segment = Number(batch.segmentIds[t])
      if (segment > 0) sums[first + segment - 1] += tokenLogProbs[t]
    }
  })
  return sums
}

describe('createStepProgram', () => {
  it('gradient accumulation: two micro-batches of 2 rows (or three of 1–2) give the step of one batch of 4', async () => {
    const data = randomExamples([9, 14, 6, 11], 1)
    const whole = collateRows([[0], [1], [2], [3]], data)
    const halves = [collateRows([[0], [1]], data), collateRows([[2], [3]], data)]
    const thirds = [collateRows([[0]], data), collateRows([[1], [2]], data), collateRows([[3]], data)]
    const one = await createStepProgram(spec())
    const two = await createStepProgram(spec())
    const three = await createStepProgram(spec())
    try {
      for (let step = 1; step <= 2; step++) {
        const scalars = { lr: 0.05, step, maxGradNorm: 1 } // clipping active: the norms are ~2
        const a = await one.step([whole], scalars)
        expect(a.gradNorm).toBeGreaterThan(1)
        for (const b of [await two.step(halves, scalars), await three.step(thirds, scalars)]) {
          expect(b.loss).toBeCloseTo(a.loss, 5)
          expect(b.gradNorm).toBeCloseTo(a.gradNorm, 5)
          expect(b.tokens).toBe(a.tokens)
        }
      }
      const left = one.exportState()
      for (const other of [two, three]) {
        const right = other.exportState()
        for (const name of one.trainableNames) {
          expect(
            maxAbsDifference(left.params.get(name)!.data, right.params.get(name)!.data),
            name
          ).toBeLessThan(1e-6)
          const momentum = `${name}.momentum_buffer`
          expect(
            maxAbsDifference(left.optimizer.get(momentum)!.data, right.optimizer.get(momentum)!.data)
          ).toBeLessThan(1e-5)
        }
      }
      expect(two.graphs.map((g) => g.kind).sort()).toEqual(['micro', 'step', 'step-accumulate'])
    } finally {
      await Promise.all([one.release(), two.release(), three.release()])
    }
  })

  it('a packed batch gives each sample the log-probs and the batch the loss of the unpacked batch', async () => {
    const data = randomExamples([7, 5, 9, 4], 2)
    const unpacked = collateRows([[0], [1], [2], [3]], data)
    const packed = collateRows(
      [
        [0, 1],
        [2, 3]
      ],
      data
    )
    expect(packed.rows).toBe(2)
    const plain = await createStepProgram(spec())
    const packing = await createStepProgram(spec({ packed: true }))
    try {
      const a = await plain.evaluate(unpacked)
      const b = await packing.evaluate(packed)
      const perSampleA = sampleLogProbs(unpacked, a.tokenLogProbs!)
      const perSampleB = sampleLogProbs(packed, b.tokenLogProbs!)
      perSampleB.forEach((value, i) => expect(value, `sample ${i}`).toBeCloseTo(perSampleA[i], 4))
      expect(b.loss).toBeCloseTo(a.loss, 5)
      const scalars = { lr: 0.05, step: 1, maxGradNorm: 0 }
      const stepA = await plain.step([unpacked], scalars)
      const stepB = await packing.step([packed], scalars)
      expect(stepB.loss).toBeCloseTo(stepA.loss, 5)
      expect(stepB.gradNorm).toBeCloseTo(stepA.gradNorm, 5)
    } finally {
      await Promise.all([plain.release(), packing.release()])
    }
  })

  it('a second program with the same spec loads the cached graph without building it', async () => {
    const specified = spec({ optimizer: { kind: 'adamw', betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 } })
    const first = await createStepProgram(specified)
    const second = await createStepProgram(specified)
    const otherOptimizer = await createStepProgram({
      ...specified,
      optimizer: { kind: 'sgd', momentum: 0, weightDecay: 0 }
    })
    try {
      expect(first.graphs).toEqual([expect.objectContaining({ kind: 'step', fromCache: false })])
      expect(second.graphs).toEqual([{ ...first.graphs[0], fromCache: true }])
      expect(otherOptimizer.graphs[0].fromCache).toBe(false)
      expect(otherOptimizer.graphs[0].path).not.toBe(first.graphs[0].path)
      const batch = goldenBatch('llama-untied')
      const scalars = { lr: 1e-3, step: 1, maxGradNorm: 1 }
      expect((await second.step([batch], scalars)).loss).toBe((await first.step([batch], scalars)).loss)
    } finally {
      await Promise.all([first.release(), second.release(), otherOptimizer.release()])
    }
  })

  it('importState continues bit for bit where exportState left off', async () => {
    const batch = goldenBatch('llama-untied')
    const optimizer = { kind: 'adamw', betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 } as const
    const original = await createStepProgram(spec({ optimizer }))
    const resumed = await createStepProgram(spec({ optimizer }))
    try {
      await original.step([batch], { lr: 0.01, step: 1, maxGradNorm: 0 })
      const saved = original.exportState()
      expect([...saved.optimizer.keys()]).toContain(`${original.trainableNames[0]}.exp_avg_sq`)
      resumed.importState(saved)
      const a = await original.step([batch], { lr: 0.01, step: 2, maxGradNorm: 0 })
      const b = await resumed.step([batch], { lr: 0.01, step: 2, maxGradNorm: 0 })
      expect(b.loss).toBe(a.loss)
      expect(b.gradNorm).toBe(a.gradNorm)
      expect(() => resumed.importState({ params: new Map(), optimizer: saved.optimizer })).toThrow(
        /has no tensor/
      )
    } finally {
      await Promise.all([original.release(), resumed.release()])
    }
  })

  it('LoRA dropout is deterministic in (seed, step), changes the loss, and resumes exactly', async () => {
    const batch = goldenBatch('llama-untied')
    const withDropout = spec({
      adapter: { kind: 'lora', r: 4, alpha: 8, dropout: 0.3, targets: [], initAdapterDir: GIVEN_ADAPTER }
    })
    const a = await createStepProgram(withDropout)
    const b = await createStepProgram(withDropout)
    const none = await createStepProgram(
      spec({
        adapter: { kind: 'lora', r: 4, alpha: 8, dropout: 0, targets: [], initAdapterDir: GIVEN_ADAPTER }
      })
    )
    try {
      const first = await a.step([batch], { lr: 0.05, step: 1, maxGradNorm: 0 })
      const undropped = await none.step([batch], { lr: 0.05, step: 1, maxGradNorm: 0 })
      expect(first.loss).not.toBeCloseTo(undropped.loss, 3)
      // b starts from a's state after step 1 and must draw the masks a draws at step 2
      b.importState(a.exportState())
      const second = await a.step([batch], { lr: 0.05, step: 2, maxGradNorm: 0 })
      const resumed = await b.step([batch], { lr: 0.05, step: 2, maxGradNorm: 0 })
      expect(resumed.loss).toBe(second.loss)
      // evaluation never drops out
      const evalA = await a.evaluate(batch)
      b.importState(a.exportState())
      const evalB = await b.evaluate(batch)
      expect(evalB.loss).toBe(evalA.loss)
      expect(a.graphs[0].path).not.toBe(none.graphs[0].path)
    } finally {
      await Promise.all([a.release(), b.release(), none.release()])
    }
  })

  it('fresh LoRA: A Kaiming-uniform from the seed (|A| ≤ 1/√in), B zero, PEFT names', async () => {
    const fresh = spec({
      adapter: { kind: 'lora', r: 8, alpha: 16, dropout: 0, targets: ['v_proj', 'down_proj'] }
    })
    const a = await createStepProgram(fresh)
    const b = await createStepProgram(fresh)
    const c = await createStepProgram({ ...fresh, seed: 8 })
    try {
      expect(a.trainableNames).toEqual([
        'base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight',
        'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight',
        'base_model.model.model.layers.0.mlp.down_proj.lora_A.weight',
        'base_model.model.model.layers.0.mlp.down_proj.lora_B.weight',
        'base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight',
        'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight',
        'base_model.model.model.layers.1.mlp.down_proj.lora_A.weight',
        'base_model.model.model.layers.1.mlp.down_proj.lora_B.weight'
      ])
      const params = a.exportState().params
      const downA = params.get('base_model.model.model.layers.0.mlp.down_proj.lora_A.weight')!
      expect(downA.shape).toEqual([8, 80]) // down_proj reads the intermediate size
      const bound = 1 / Math.sqrt(80)
      const values = Array.from(downA.data)
      expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(bound)
      expect(Math.max(...values)).toBeGreaterThan(0.8 * bound) // uniform over the whole range
      expect(
        params.get('base_model.model.model.layers.0.mlp.down_proj.lora_B.weight')!.data.every((v) => v === 0)
      ).toBe(true)
      expect(b.exportState().params.get(a.trainableNames[2])!.data).toEqual(downA.data)
      expect(c.exportState().params.get(a.trainableNames[2])!.data).not.toEqual(downA.data)
      expect(a.loraConfig).toMatchObject({ r: 8, loraAlpha: 16, targetModules: ['v_proj', 'down_proj'] })
      // B = 0: the adapted model is the base model, so the loss is the base model's
      const batch = goldenBatch('llama-untied')
      const full = await createStepProgram(spec({ adapter: { kind: 'full', freezeEmbeddings: false } }))
      try {
        expect((await a.evaluate(batch)).loss).toBeCloseTo((await full.evaluate(batch)).loss, 6)
      } finally {
        await full.release()
      }
    } finally {
      await Promise.all([a.release(), b.release(), c.release()])
    }
  })

  it('full fine-tuning: HF names; frozen embeddings of a tied model freeze the lm_head use too', async () => {
    const untied = await createStepProgram(spec({ adapter: { kind: 'full', freezeEmbeddings: true } }))
    const tied = await createStepProgram(
      spec({ modelDir: QWEN2_TIED, adapter: { kind: 'full', freezeEmbeddings: true } })
    )
    try {
      expect(untied.trainableNames).toContain('lm_head.weight')
      expect(untied.trainableNames).not.toContain('model.embed_tokens.weight')
      expect(untied.trainableNames).toContain('model.layers.1.mlp.down_proj.weight')
      expect(tied.trainableNames).toContain('model.layers.0.self_attn.q_proj.bias')
      expect(tied.trainableNames).not.toContain('model.embed_tokens.weight')
      expect(tied.trainableNames).not.toContain('lm_head.weight')
      const batch = goldenBatch('qwen2-tied')
      const result = await tied.step([batch], { lr: 0.1, step: 1, maxGradNorm: 0 })
      expect(Number.isFinite(result.loss)).toBe(true)
      expect(tied.exportState().params.size).toBe(tied.trainableNames.length)
    } finally {
      await Promise.all([untied.release(), tied.release()])
    }
  })

  it('full fine-tuning ASFT anchors to the original weights: KL is 0 before the first update, > 0 after', async () => {
    const batch = goldenBatch('llama-untied')
    const program = await createStepProgram(
      spec({
        adapter: { kind: 'full', freezeEmbeddings: false },
        recipe: resolveRecipe('asft', { kl_weight: 0.1 })
      })
    )
    try {
      const first = await program.step([batch], { lr: 0.1, step: 1, maxGradNorm: 0 })
      expect(Math.abs(first.metrics.kl)).toBeLessThan(1e-6)
      expect(first.loss).toBeCloseTo(first.metrics.dft, 6)
      const second = await program.step([batch], { lr: 0.1, step: 2, maxGradNorm: 0 })
      expect(second.metrics.kl).toBeGreaterThan(1e-4)
    } finally {
      await program.release()
    }
  })

  it('a step whose loss is not finite is reported as such, with the weights it produced', async () => {
    const batch = goldenBatch('llama-untied')
    const program = await createStepProgram(spec({ optimizer: { kind: 'sgd', momentum: 0, weightDecay: 0 } }))
    try {
      await program.step([batch], { lr: 1e30, step: 1, maxGradNorm: 0 }) // blows the adapter up
      const broken = await program.step([batch], { lr: 1e30, step: 2, maxGradNorm: 0 })
      expect(Number.isFinite(broken.loss) && Number.isFinite(broken.gradNorm)).toBe(false)
      const weights = [...program.exportState().params.values()].flatMap((p) => Array.from(p.data))
      expect(weights.some((value) => !Number.isFinite(value))).toBe(true)
    } finally {
      await program.release()
    }
  })
})

/**
 * A recipe using the whole interface: SFT with each row's NLL scaled by a per-sample input, times 2
 * when `doubled`, `mode` 'sum' reporting per-row NLL sums and 'count' per-row trained-token counts.
 */
const probe: LossHook = {
  name: 'interface-probe',
  needs: {},
  inputs: [{ name: 'scale', description: 'per-row factor', per: 'sample', dtype: 'float32' }],
  loss: (ctx) => {
    const scaled = mul(tokenNll(ctx), unsqueeze(ctx.inputs.scale, [1])) // (B, S)
    const perRow = ctx.params.mode === 'sum' ? mul(tokenNll(ctx), ctx.labelMask) : ctx.labelMask
    return {
      loss: mul(weightedTokenMean(ctx, scaled), ctx.params.doubled ? 2 : 1),
      perSample: { value: reduceSum(perRow, [1], { keepDims: false }) }
    }
  }
}

describe('the recipe interface', () => {
  const batch = goldenBatch('llama-untied')
  const withScale = (scale: number[]): TrainingBatch => ({
    ...batch,
    recipeInputs: { scale: Float32Array.from(scale) }
  })
  const stepOnce = async (params: Record<string, boolean | string>, fed: TrainingBatch) => {
    const program = await createStepProgram(spec({ recipe: { hook: probe, params } }))
    try {
      return await program.step([fed], { lr: 0, step: 1, maxGradNorm: 0 })
    } finally {
      await program.release()
    }
  }

  it('feeds declared inputs from the batch, returns per-sample outputs, and builds on boolean and choice params', async () => {
    const sft = await createStepProgram(spec())
    const plain = await sft.step([batch], { lr: 0, step: 1, maxGradNorm: 0 })
    await sft.release()
    const unit = await stepOnce({ doubled: false, mode: 'sum' }, withScale([1, 1, 1]))
    expect(unit.loss).toBeCloseTo(plain.loss, 6)
    const nll = unit.perSample!.value[0]
    const fromTokens = sampleLogProbs(batch, plain.tokenLogProbs![0]).map((sum) => -sum)
    fromTokens.forEach((sum, row) => expect(nll[row]).toBeCloseTo(sum, 4))

    // only row 0 counts, twice: the loss is 2 · row 0's NLL sum over the batch's trained tokens
    const weighted = await stepOnce({ doubled: true, mode: 'count' }, withScale([1, 0, 0]))
    expect(weighted.loss).toBeCloseTo((2 * nll[0]) / plain.tokens, 5)
    expect([...weighted.perSample!.value[0]]).toEqual([15, 11, 5])
  })

  it('refuses a batch without a declared input, naming it', async () => {
    await expect(stepOnce({ doubled: false, mode: 'sum' }, batch)).rejects.toThrow(
      /micro-batch 0: recipe "interface-probe" needs the float32 input "scale" of 3 values \(\[3\]\), got none/
    )
  })

  it('dpo: two micro-batches of one pair each give the step of one batch of two pairs', async () => {
    const data = randomExamples([9, 12, 7, 10], 3)
    const recipe = resolveRecipe('dpo', { loss_type: 'sigmoid', label_smoothing: 0.1 })
    const one = await createStepProgram(spec({ recipe }))
    const two = await createStepProgram(spec({ recipe }))
    try {
      const scalars = { lr: 0.05, step: 1, maxGradNorm: 0 }
      const whole = await one.step([collateRows([[0], [1], [2], [3]], data)], scalars)
      const halves = await two.step([collateRows([[0], [1]], data), collateRows([[2], [3]], data)], scalars)
      expect(halves.loss).toBeCloseTo(whole.loss, 6)
      expect(halves.gradNorm).toBeCloseTo(whole.gradNorm, 5)
      for (const metric of ['rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies']) {
        expect(halves.metrics[metric], metric).toBeCloseTo(whole.metrics[metric], 6)
      }
    } finally {
      await Promise.all([one.release(), two.release()])
    }
  })
})
