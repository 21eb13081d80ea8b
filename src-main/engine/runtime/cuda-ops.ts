/**
 * Which operators of our graphs onnxruntime's CUDA execution provider runs, and for which element
 * types. A node without a CUDA kernel for its types does not fail: onnxruntime quietly assigns it to
 * the CPU provider and copies its inputs and outputs across on every run, which on a training step
 * means per-layer round trips between GPU and host. So every op type the step and scoring graphs
 * emit is listed here with the types its CUDA kernel takes, and test/engine/train/cuda-ops.test.ts
 * fails when a graph uses one that is not (docs/GPU.md shows this table).
 *
 * Source: onnxruntime's docs/OperatorKernels.md, "Operators implemented by CUDAExecutionProvider"
 * (generated from the registered kernels; microsoft/onnxruntime commit 001d12d2, a main-branch state
 * newer than the 1.30.0 we ship, whose kernels for opset ≤ 18 it keeps), the kernel version that
 * covers opset 18 (DEFAULT_OPSET). `typedBy` names the value whose type selects the kernel (the
 * type constraint T: the first input unless said otherwise).
 */
import type { GraphNode } from '../graph/index'

type TypedBy = 'input0' | 'input1' | 'output0'

export interface CudaKernel {
  /** The values whose element types the kernel's type constraints restrict. */
  typedBy: readonly TypedBy[]
  /** Element types (our DType names) the kernel accepts for each of them. */
  types: readonly string[]
}

/** Every fixed-size type we use: the CUDA kernels of data-movement ops take all of them. */
const ANY = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int8', 'uint8', 'bool']
const NUMBERS = ANY.filter((type) => type !== 'bool')
const FLOATS = ['float32', 'float64', 'float16']
const FLOATS_AND_BF16 = [...FLOATS, 'bfloat16']
/** Greater/Less: no 8-bit, no bfloat16. */
const ORDERED = [...FLOATS, 'int32', 'int64']
const MIN_MAX = [...FLOATS_AND_BF16, 'int32', 'int64']

const first = (types: readonly string[]): CudaKernel => ({ typedBy: ['input0'], types })

export const CUDA_KERNELS: Readonly<Record<string, CudaKernel>> = {
  Add: first(NUMBERS),
  Sub: first(NUMBERS),
  Mul: first(NUMBERS),
  Div: first(NUMBERS),
  Abs: first(NUMBERS),
  Neg: first(['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int8']),
  Cast: { typedBy: ['input0', 'output0'], types: ANY },
  Concat: first(ANY),
  ConstantOfShape: { typedBy: ['output0'], types: ANY },
  Expand: first(ANY),
  Gather: first(ANY),
  GatherElements: first(ANY),
  Identity: first(ANY),
  Reshape: first(ANY),
  ScatterND: first(ANY),
  ScatterElements: first(ANY),
  Shape: first(ANY),
  Size: first(ANY),
  Slice: first(ANY),
  Split: first(ANY),
  Squeeze: first(ANY),
  Unsqueeze: first(ANY),
  Transpose: first(ANY),
  Trilu: first(ANY),
  Where: { typedBy: ['input1'], types: [...FLOATS_AND_BF16, 'int32', 'int64', 'uint8'] },
  Equal: first([...ORDERED, 'bool']),
  Greater: first(ORDERED),
  Less: first(ORDERED),
  Not: first(['bool']),
  And: first(['bool']),
  Or: first(['bool']),
  Xor: first(['bool']),
  NonZero: first(['float32', 'float16', 'int32', 'int64', 'uint8', 'bool']),
  Min: first(MIN_MAX),
  Max: first(MIN_MAX),
  Range: first(['float32', 'float64', 'int32', 'int64']),
  Pow: first([...FLOATS_AND_BF16, 'int32', 'int64']),
  Cos: first(FLOATS),
  Sin: first(FLOATS),
  Log: first(FLOATS),
  Reciprocal: first(FLOATS),
  LogSoftmax: first(FLOATS),
  Exp: first(FLOATS_AND_BF16),
  Sqrt: first(FLOATS_AND_BF16),
  Sigmoid: first(FLOATS_AND_BF16),
  Tanh: first(FLOATS_AND_BF16),
  Softmax: first(FLOATS_AND_BF16),
  Sum: first(FLOATS_AND_BF16),
  Gemm: first(FLOATS_AND_BF16),
  MatMul: first(FLOATS_AND_BF16),
  ReduceSum: first([...FLOATS_AND_BF16, 'int32', 'int64']),
  ReduceMax: first([...FLOATS, 'int32', 'int64']),
  ReduceMean: first([...FLOATS, 'int32']),
  Pad: first([...FLOATS, 'bool'])
}

/**
 * Uses known to run on the CPU provider under `--device cuda`, each with what would replace it.
 * Listed so the test tolerates exactly these; fixing one means deleting its entry.
 */
export const KNOWN_CPU_FALLBACKS: readonly {
  opType: string
  types: string
  where: string
  replacement: string
}[] = [
  {
    opType: 'BitwiseAnd',
    types: 'int64',
    where: "LoRA dropout's counter hash (train/dropout.ts)",
    replacement:
      'no CUDA kernel in any opset: the same hash from Mul/Add/Mod on int64, or a uniform from RandomUniformLike'
  },
  {
    opType: 'BitwiseXor',
    types: 'int64',
    where: "LoRA dropout's counter hash (train/dropout.ts)",
    replacement: 'as BitwiseAnd'
  }
]

/** One op type and element types a graph uses that no CUDA kernel takes. */
export interface CudaGap {
  opType: string
  domain: string
  /** The element types of the kernel-selecting values, comma-joined ('' for an unknown op). */
  types: string
}

function typesOf(node: GraphNode, typedBy: readonly TypedBy[]): string[] {
  return typedBy.map((slot) => {
    const value = slot === 'output0' ? node.outputs[0] : node.inputs[slot === 'input0' ? 0 : 1]
    return value?.dtype ?? 'none'
  })
}

/** The distinct (op, types) uses among `nodes` that would run on the CPU provider under CUDA. */
export function cudaGaps(nodes: readonly GraphNode[]): CudaGap[] {
  const gaps = new Map<string, CudaGap>()
  for (const node of nodes) {
    const kernel = node.domain === '' ? CUDA_KERNELS[node.opType] : undefined
    const slotTypes = typesOf(node, kernel?.typedBy ?? ['input0'])
    if (kernel && slotTypes.every((type) => kernel.types.includes(type))) continue
    const gap = { opType: node.opType, domain: node.domain, types: slotTypes.join(',') }
    gaps.set(`${gap.domain}:${gap.opType}:${gap.types}`, gap)
  }
  return [...gaps.values()]
}

/** Whether `gap` is one of KNOWN_CPU_FALLBACKS. */
export function isKnownCpuFallback(gap: CudaGap): boolean {
  return KNOWN_CPU_FALLBACKS.some((known) => known.opType === gap.opType && known.types === gap.types)
}
