/**
 * The step program's memory options against the plain graphs on the golden models: recomputed
 * layers and a chunked LM head + loss compute the same steps (LoRA and full fine-tuning, tied and
 * untied heads, padded and packed batches, gradient accumulation and the held-out loss), and a
 * recipe that needs the whole distribution still trains with chunking asked for.
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { collateRows } from '../../../src-main/engine/train/batches'
import { createStepProgram } from '../../../src-main/engine/train/compile-step'
import type { StepMemoryOptions, StepProgramSpec } from '../../../src-main/engine/train/step-program'
import type { BasePrecision } from '../../../src-main/engine/models/base-precision'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { STORIES_260K, tempDir } from '../../helpers/temp'
import { readModelConfig } from '../../../src-main/engine/checkpoint/hf-config'
import { peftTensorName } from '../../../src-main/engine/checkpoint/peft'
import { GraphBuilder } from '../../../src-main/engine/graph/index'
import { prepareWeights } from '../../../src-main/engine/models/weights'
import { loraTensorSpecs, resolveLora } from '../../../src-main/engine/train/lora'
import { buildStepGraph } from '../../../src-main/engine/train/step-graph'
import { GOLDEN, randomExamples } from './golden-batch'

const cache = tempDir()
afterAll(() => cache.cleanup())

const PLAIN: StepMemoryOptions = { basePrecision: 'fp32', recompute: false, lossChunks: 1 }
const SAVING: StepMemoryOptions = { basePrecision: 'fp32', recompute: true, lossChunks: 3 }

function spec(modelDir: string, overrides: Partial<StepProgramSpec>): StepProgramSpec {
  return {
    modelDir,
    adapter: { kind: 'lora', r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'] },
    optimizer: { kind: 'adamw', betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 },
    recipe: resolveRecipe('sft'),
    device: 'cpu',
    cacheDir: cache.dir,
    seed: 7,
    packed: false,
    ...overrides
  }
}

const close = (a: number, b: number) => Math.abs(a - b) <= 2e-5 * Math.max(1, Math.abs(b))

interface MemoryCase {
  name: string
  model: string
  overrides: Partial<StepProgramSpec>
  /** The stored base on both sides (default fp32). */
  precision?: BasePrecision
}

describe.each<MemoryCase>([
  { name: 'LoRA, untied head', model: 'llama-untied', overrides: {} },
  { name: 'LoRA, tied head, packed', model: 'qwen2-tied', overrides: { packed: true } },
  {
    name: 'full fine-tuning, tied head',
    model: 'qwen2-tied',
    overrides: { adapter: { kind: 'full' as const, freezeEmbeddings: false } }
  },
  {
    name: 'dft (token weights from the probabilities)',
    model: 'llama-untied',
    overrides: { recipe: resolveRecipe('dft') }
  },
  {
    name: 'asft (needs the whole distribution: not chunked)',
    model: 'llama-untied',
    overrides: { recipe: resolveRecipe('asft') }
  },
  {
    name: 'LoRA, int4 base, tied head cut by vocabulary',
    model: 'qwen2-tied',
    overrides: {},
    precision: 'int4'
  },
  {
    name: 'LoRA, fp16 base, untied head cut by vocabulary',
    model: 'llama-untied',
    overrides: {},
    precision: 'fp16'
  }
])('recomputation and a chunked loss: $name', ({ model, overrides, precision }) => {
  it('three steps (one of them accumulated) and the held-out loss match the plain graphs', async () => {
    const packed = 'packed' in overrides
    const data = randomExamples([9, 14, 6, 11, 8, 5], 3)
    const rows = packed ? [[0, 2], [1], [3, 4], [5]] : [[0], [1], [2], [3], [4], [5]]
    const whole = collateRows(rows.slice(0, 4), data)
    const micro = [collateRows(rows.slice(0, 2), data), collateRows(rows.slice(2, 4), data)]
    // The same stored base on both sides: only the graphs' memory options differ.
    const basePrecision = precision ?? 'fp32'
    const memory = (options: StepMemoryOptions) => ({ memory: { ...options, basePrecision } })
    const plain = await createStepProgram(spec(join(GOLDEN, model), { ...overrides, ...memory(PLAIN) }))
    const saving = await createStepProgram(spec(join(GOLDEN, model), { ...overrides, ...memory(SAVING) }))
    try {
      for (const [step, batches] of [
        [1, [whole]],
        [2, micro],
        [3, [whole]]
      ] as const) {
        const scalars = { lr: 1e-2, step, maxGradNorm: 1 }
        const a = await plain.step([...batches], scalars)
        const b = await saving.step([...batches], scalars)
        expect(close(b.loss, a.loss), `loss ${b.loss} vs ${a.loss}`).toBe(true)
        expect(close(b.gradNorm, a.gradNorm), `grad norm ${b.gradNorm} vs ${a.gradNorm}`).toBe(true)
        expect(a.gradNorm).toBeGreaterThan(0)
      }
      const heldOut = collateRows(rows.slice(-2), data)
      const [x, y] = [await plain.evaluate(heldOut), await saving.evaluate(heldOut)]
      expect(close(y.loss, x.loss), `held-out ${y.loss} vs ${x.loss}`).toBe(true)
      expect(y.tokens).toBe(x.tokens)
    } finally {
      await Promise.all([plain.release(), saving.release()])
    }
  })
})

describe('a frozen base stored in int4', () => {
  it.each([false, true])(
    'recompute %s: no float32 decoding of a matrix made in the forward pass is read after the loss',
    (recompute) => {
      const config = readModelConfig(STORIES_260K)
      const weights = prepareWeights({ modelDir: STORIES_260K, precision: 'int4' }, config, cache.dir)
      const lora = resolveLora(
        { kind: 'lora', r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'down_proj'] },
        config,
        1
      )
      const sft = resolveRecipe('sft')
      const g = new GraphBuilder('int4-step')
      buildStepGraph(
        g,
        {
          config,
          recipe: sft.hook,
          recipeParams: sft.params,
          optimizer: { kind: 'adamw', betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 },
          packed: false,
          trainables: loraTensorSpecs(lora).map(({ name, shape }) => ({ name, shape })),
          adapter: {
            kind: 'lora',
            scaling: 2,
            dropout: 0,
            modules: lora.modules.map((m) => ({
              ...m,
              a: peftTensorName(m.modulePath, 'A'),
              b: peftTensorName(m.modulePath, 'B')
            }))
          },
          memory: { recompute, lossChunks: 2 }
        },
        weights.provider(g),
        'step'
      )
      const lossAt = g.nodes.findIndex((n) => n.outputs.some((t) => t.name === 'loss'))
      const position = new Map(g.nodes.map((n, i) => [n, i]))
      const decoded = g.segments
        .filter((s) => s.kind === 'read')
        .flatMap((s) => [...s.nodes].filter((n) => position.get(n)! <= lossAt).map((n) => n.outputs[0]))
      expect(decoded.length).toBeGreaterThan(config.numLayers * 2) // q_proj, down_proj, … and the head
      // The forward pass's reads of the stored parts (gated copies, gate.ts) die with it too.
      const storedParts = new Set(
        g
          .toModel()
          .graph.initializers.filter((t) => t.name.includes('.weight:'))
          .map((t) => t.name)
      )
      const gatedParts = g.nodes
        .filter((n, i) => i <= lossAt && n.opType === 'Slice' && storedParts.has(n.inputs[0]?.name ?? ''))
        .map((n) => n.outputs[0])
      expect(gatedParts.length).toBeGreaterThan(config.numLayers * 2)
      const forwardValues = new Set([...decoded, ...gatedParts])
      const lateReaders = g.nodes.filter(
        (n, i) => i > lossAt && n.inputs.some((t) => t && forwardValues.has(t))
      )
      expect(lateReaders.map((n) => n.name)).toEqual([])
      // With chunks the tied head is decoded one block of vocabulary rows at a time, never whole.
      const wholeHead = g.nodes
        .flatMap((n) => n.outputs)
        .filter(
          (t) =>
            t.dtype === 'float32' && t.shape?.[0] === config.vocabSize && t.shape[1] === config.hiddenSize
        )
      expect(wholeHead.map((t) => t.name)).toEqual([])
      // Stored as int4 (uint8 nibbles) and float16 scales: no float32 matrix is an initializer.
      const matrices = g
        .toModel()
        .graph.initializers.filter((t) => t.name.includes('.weight') && t.dims.length >= 2)
      expect(matrices.length).toBeGreaterThan(0)
      expect(matrices.filter((t) => t.dtype === 'float32').map((t) => t.name)).toEqual([])
    }
  )
})
