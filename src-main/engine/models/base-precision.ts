/**
 * How a LoRA run keeps its frozen base model's matrices (the projections, embeddings and LM head;
 * norms and biases always stay float32):
 *
 *   fp32  float32, as the checkpoint widens to (exact; the default)
 *   fp16  IEEE binary16, widened to float32 layer by layer as the graph uses it
 *   bf16  bfloat16, likewise
 *   int8  blocks of 32 values along a row: one float16 scale and 32 int8 values (GGUF's Q8_0)
 *   int4  blocks of 32 values along a row: one float16 scale and 16 bytes of 4-bit values (Q4_0)
 *
 * Products always run in float32: a matrix is decoded just before its Gemm and the decoded copy is
 * dropped after it (the backward pass decodes again), so only one layer's matrix exists in float32
 * at a time.
 */
export const BASE_PRECISIONS = ['fp32', 'fp16', 'bf16', 'int8', 'int4'] as const
export type BasePrecision = (typeof BASE_PRECISIONS)[number]

export const DEFAULT_BASE_PRECISION: BasePrecision = 'fp32'

export function isBasePrecision(value: unknown): value is BasePrecision {
  return typeof value === 'string' && (BASE_PRECISIONS as readonly string[]).includes(value)
}
