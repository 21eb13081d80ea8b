/**
 * The ONNX opset our graphs target.
 *
 * 18 is the first opset with every form the builder emits (Reduce* and Split taking axes/sizes
 * as inputs, ScatterND reduction='add'), and the one with the widest kernel coverage across
 * onnxruntime's execution providers: CUDA kernels registered for later opsets are often
 * missing, and a missing kernel silently falls back to CPU with copies on every run.
 */
export const DEFAULT_OPSET = 18

/** The IR version each ONNX release paired with its newest opset (onnx/docs/Versioning.md). */
const IR_VERSION_FOR_OPSET: Readonly<Record<number, number>> = { 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11 }

export function irVersionForOpset(opset: number): number {
  const ir = IR_VERSION_FOR_OPSET[opset]
  if (ir === undefined) {
    throw new Error(`irVersionForOpset: opset ${opset} is not supported (use one of 18…23)`)
  }
  return ir
}
