/**
 * Every operator the step and scoring graphs emit has a CUDA kernel for its types (or is one of the
 * few documented CPU fallbacks), so `--device cuda` never quietly runs part of a step on the host.
 * The graphs are the real ones: built by createStepProgram / Scorer.open on stories260K, caught as
 * they are serialized. Runs on CPU; nothing here needs a GPU.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { GraphBuilder, type GraphNode } from '../../../src-main/engine/graph/index'
import { Scorer } from '../../../src-main/engine/infer/scoring'
import {
  CUDA_KERNELS,
  cudaGaps,
  isKnownCpuFallback,
  KNOWN_CPU_FALLBACKS,
  type CudaGap
} from '../../../src-main/engine/runtime/cuda-ops'
import { createStepProgram } from '../../../src-main/engine/train/compile-step'
import type { StepProgramSpec } from '../../../src-main/engine/train/step-program'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { STORIES_260K, tempDir } from '../../helpers/temp'

const ALL_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']
const LORA = { kind: 'lora', r: 4, alpha: 8, dropout: 0.1, targets: ALL_TARGETS } as const
const ADAMW = { kind: 'adamw', betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 } as const

/** The settings whose graphs are checked: LoRA with dropout, each base precision, full, RL recipes. */
const SETTINGS: { name: string; spec: Partial<StepProgramSpec> }[] = [
  { name: 'LoRA, dropout, sft', spec: {} },
  {
    name: 'LoRA, int4 base, recompute, 4 loss chunks, packed',
    spec: { packed: true, memory: { basePrecision: 'int4', recompute: true, lossChunks: 4 } }
  },
  ...(['fp16', 'bf16', 'int8'] as const).map((basePrecision) => ({
    name: `LoRA, ${basePrecision} base`,
    spec: { memory: { basePrecision, recompute: false, lossChunks: 1 } }
  })),
  {
    name: 'full fine-tuning, packed',
    spec: { adapter: { kind: 'full', freezeEmbeddings: false }, packed: true }
  },
  { name: 'LoRA, dpo', spec: { recipe: resolveRecipe('dpo') } },
  { name: 'LoRA, grpo', spec: { recipe: resolveRecipe('grpo') } }
]

const cache = tempDir('fs-cuda-ops-')
/** The nodes of every graph serialized while building, per setting name. */
const nodesBySetting = new Map<string, GraphNode[]>()

async function nodesBuiltBy(build: () => Promise<{ release(): Promise<void> }>): Promise<GraphNode[]> {
  const toBytes = vi.spyOn(GraphBuilder.prototype, 'toBytes')
  try {
    await (await build()).release()
    return (toBytes.mock.contexts as GraphBuilder[]).flatMap((g) => [...g.nodes])
  } finally {
    toBytes.mockRestore()
  }
}

beforeAll(async () => {
  for (const { name, spec } of SETTINGS) {
    const nodes = await nodesBuiltBy(() =>
      createStepProgram({
        modelDir: STORIES_260K,
        adapter: LORA,
        optimizer: ADAMW,
        recipe: resolveRecipe('sft'),
        device: 'cpu',
        // A fresh folder per setting: a cached graph would not be built, so not seen.
        cacheDir: join(cache.dir, String(nodesBySetting.size)),
        seed: 1,
        packed: false,
        ...spec
      })
    )
    nodesBySetting.set(name, nodes)
  }
  nodesBySetting.set(
    'scoring',
    await nodesBuiltBy(() =>
      Scorer.open({ modelDir: STORIES_260K }, { cacheDir: join(cache.dir, 'scoring') })
    )
  )
}, 300_000)
afterAll(() => cache.cleanup())

const describeGap = (gap: CudaGap) => `${gap.domain || 'ai.onnx'}:${gap.opType}(${gap.types})`

describe('CUDA operator coverage of the step and scoring graphs', () => {
  it('graphs were built for every setting', () => {
    expect([...nodesBySetting.keys()]).toEqual([...SETTINGS.map((s) => s.name), 'scoring'])
    for (const nodes of nodesBySetting.values()) expect(nodes.length).toBeGreaterThan(50)
  })

  it.each([...SETTINGS.map((s) => s.name), 'scoring'])(
    '%s: every op and type has a CUDA kernel, except the documented CPU fallbacks',
    (name) => {
      const unexpected = cudaGaps(nodesBySetting.get(name)!).filter((gap) => !isKnownCpuFallback(gap))
      expect(unexpected.map(describeGap)).toEqual([])
    }
  )

  it('each documented CPU fallback still occurs (delete its entry once the graphs stop using it)', () => {
    const all = [...nodesBySetting.values()].flatMap((nodes) => cudaGaps(nodes))
    for (const known of KNOWN_CPU_FALLBACKS) {
      expect(
        all.some((gap) => gap.opType === known.opType && gap.types === known.types),
        known.opType
      ).toBe(true)
    }
  })

  it('finds an op without a kernel and a type the kernel does not take', () => {
    const g = new GraphBuilder('gaps')
    const x = g.input('x', 'int64', [2])
    g.output(g.node1({ opType: 'Sin', inputs: [x], outputs: [{ dtype: 'int64', shape: [2] }] }), 'sin')
    g.output(g.node1({ opType: 'Mystery', inputs: [x], outputs: [{ dtype: 'int64', shape: [2] }] }), 'm')
    expect(cudaGaps(g.nodes).map(describeGap)).toEqual(['ai.onnx:Sin(int64)', 'ai.onnx:Mystery(int64)'])
  })

  it('docs/GPU.md lists exactly the covered ops and the CPU fallbacks', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'GPU.md'), 'utf8')
    const rows = [...doc.matchAll(/^\| `(\w+)` \| (yes|no) \|/gm)].map(([, op, kernel]) => `${op} ${kernel}`)
    const expected = [
      ...Object.keys(CUDA_KERNELS).map((op) => `${op} yes`),
      ...new Set(KNOWN_CPU_FALLBACKS.filter((f) => !(f.opType in CUDA_KERNELS)).map((f) => `${f.opType} no`))
    ]
    expect(rows.sort()).toEqual(expected.sort())
  })
})
