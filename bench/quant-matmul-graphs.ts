/**
 * The one-product ONNX graphs that bench/quant-matmul.ts times. One frozen matrix W [out, in] (a
 * Linear's weight), used as y = x·Wᵀ forward and dx = dy·W backward, kept as:
 *
 *   a  a float32 initializer and a Gemm (the engine's path today)
 *   b  the engine's standard-op decode (opset 18) of split GGUF blocks, or fp16/bf16 and a Cast,
 *      feeding a Gemm
 *   c  DequantizeLinear (opset 21, block_size 32) on an int4/int8 initializer feeding a Gemm; or,
 *      blocked along axis 0, feeding a MatMul (which onnxruntime rewrites into MatMulNBits)
 *   d  com.microsoft MatMulNBits, which reads the packed blocks itself
 *
 * Products that want their blocks along the reduction axis (c axis 0, d) need a second copy of W
 * blocked the other way for the backward product. Every quantized layout comes from the same
 * Q4_0/Q8_0 blocks (quant-blocks.ts), so all paths of one format compute with one dequantized W.
 */
import {
  bfloat16ArrayToFloat32,
  float16ArrayToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16
} from '../src-main/engine/checkpoint/half-float'
import {
  DEFAULT_OPSET,
  encodeModel,
  irVersionForOpset,
  ProtoWriter,
  tensorFromTypedArray,
  type OnnxAttribute,
  type OnnxNode,
  type OnnxTensor
} from '../src-main/engine/onnx'
import {
  BLOCK,
  matMulNBitsBlob,
  packNibbles,
  packSignedInt4,
  q4Codes,
  quantizeBothWays,
  transpose,
  widenScales,
  type BothWays,
  type SplitBlocks
} from './quant-blocks'
/** TensorProto.DataType codes. */
const ONNX_TYPE = { float: 1, int32: 6, bfloat16: 16, int4: 22 } as const

/**
 * An initializer in a type the engine's OnnxTensor has no entry for (bfloat16, packed int4), kept
 * as raw bytes with its TensorProto.DataType code.
 */
interface RawInitializer {
  name: string
  dataType: number
  dims: number[]
  bytes: Uint8Array
}

/** How one path holds its weight, and the nodes that turn it into the product's operand. */
interface WeightGraph {
  opset: number
  /** The stored weight (values and scales). */
  initializers: OnnxTensor[]
  rawInitializers: RawInitializer[]
  /** Scalars and shapes the decode reads. */
  constants: OnnxTensor[]
  /** Nodes producing the float32 "W" [out, in] that the Gemm reads (none for MatMulNBits). */
  decode: OnnxNode[]
}

export interface MatmulPath {
  name: string
  /** Bytes of the weight initializers the path keeps in memory (both copies for two-copy paths). */
  weightBytes: number
  /** y = x·Wᵀ: input "a" [rows, in], output "y" [rows, out]. */
  forwardModel(rows: number): Uint8Array
  /** dx = dy·W: input "a" [rows, out], output "y" [rows, in]. */
  backwardModel(rows: number): Uint8Array
  /** The float32 weight [out, in] that forward computes with (for its error). */
  forwardWeight: Float32Array
  /** The float32 weight [out, in] that backward computes with (another copy for two-copy paths). */
  backwardWeight: Float32Array
}

const int = (name: string, value: number): OnnxAttribute => ({ name, value: { kind: 'int', value } })

/** The lead's int4 decode: nibbles via integer Div/Sub (every op has a CUDA kernel at opset 18). */
function q4DecodeGraph(blocks: SplitBlocks): WeightGraph {
  const { out, in: inner } = blocks
  const nb = inner / BLOCK
  return {
    opset: DEFAULT_OPSET,
    rawInitializers: [],
    initializers: [
      tensorFromTypedArray('scales', 'float16', [out, nb], blocks.scales),
      tensorFromTypedArray('nibbles', 'uint8', [out, nb, 16], blocks.values)
    ],
    constants: [
      ...decodeConstants(out, inner),
      tensorFromTypedArray('sixteen', 'int32', [], Int32Array.of(16)),
      tensorFromTypedArray('eight', 'float32', [], Float32Array.of(8))
    ],
    decode: [
      { opType: 'Cast', inputs: ['nibbles'], outputs: ['bytes'], attributes: [int('to', ONNX_TYPE.int32)] },
      { opType: 'Div', inputs: ['bytes', 'sixteen'], outputs: ['high'] },
      { opType: 'Mul', inputs: ['high', 'sixteen'], outputs: ['high_shifted'] },
      { opType: 'Sub', inputs: ['bytes', 'high_shifted'], outputs: ['low'] },
      // [out, nb, 32]: block values 0–15 are the low nibbles, 16–31 the high ones.
      { opType: 'Concat', inputs: ['low', 'high'], outputs: ['codes'], attributes: [int('axis', -1)] },
      { opType: 'Cast', inputs: ['codes'], outputs: ['codes_f'], attributes: [int('to', ONNX_TYPE.float)] },
      { opType: 'Sub', inputs: ['codes_f', 'eight'], outputs: ['centred'] },
      ...scaleAndReshape('centred')
    ]
  }
}

/** int8 decode: the int8 values widen to float32 and take their block's scale. */
function q8DecodeGraph(blocks: SplitBlocks): WeightGraph {
  const { out, in: inner } = blocks
  const nb = inner / BLOCK
  const int8 = new Int8Array(blocks.values.buffer, blocks.values.byteOffset, blocks.values.byteLength)
  return {
    opset: DEFAULT_OPSET,
    rawInitializers: [],
    initializers: [
      tensorFromTypedArray('scales', 'float16', [out, nb], blocks.scales),
      tensorFromTypedArray('values', 'int8', [out, nb, 32], int8)
    ],
    constants: decodeConstants(out, inner),
    decode: [
      { opType: 'Cast', inputs: ['values'], outputs: ['values_f'], attributes: [int('to', ONNX_TYPE.float)] },
      ...scaleAndReshape('values_f')
    ]
  }
}

function decodeConstants(out: number, inner: number): OnnxTensor[] {
  return [
    tensorFromTypedArray('last_axis', 'int64', [1], BigInt64Array.of(-1n)),
    tensorFromTypedArray('weight_shape', 'int64', [2], BigInt64Array.of(BigInt(out), BigInt(inner)))
  ]
}

/** [out, nb, 32] block values × their f16 scale (widened, [out, nb, 1]) → W [out, in]. */
function scaleAndReshape(values: string): OnnxNode[] {
  return [
    { opType: 'Cast', inputs: ['scales'], outputs: ['scales_f'], attributes: [int('to', ONNX_TYPE.float)] },
    { opType: 'Unsqueeze', inputs: ['scales_f', 'last_axis'], outputs: ['scales_col'] },
    { opType: 'Mul', inputs: [values, 'scales_col'], outputs: ['blocks_f'] },
    { opType: 'Reshape', inputs: ['blocks_f', 'weight_shape'], outputs: ['W'] }
  ]
}

/** fp16 / bf16: one Cast to float32. */
function castDecodeGraph(
  kind: 'fp16' | 'bf16',
  halves: Uint16Array,
  out: number,
  inner: number
): WeightGraph {
  const bytes = new Uint8Array(halves.buffer, halves.byteOffset, halves.byteLength)
  return {
    opset: DEFAULT_OPSET,
    constants: [],
    initializers: kind === 'fp16' ? [tensorFromTypedArray('halves', 'float16', [out, inner], halves)] : [],
    rawInitializers:
      kind === 'bf16' ? [{ name: 'halves', dataType: ONNX_TYPE.bfloat16, dims: [out, inner], bytes }] : [],
    decode: [{ opType: 'Cast', inputs: ['halves'], outputs: ['W'], attributes: [int('to', ONNX_TYPE.float)] }]
  }
}

/**
 * DequantizeLinear-21 blocked along a row: int4 or int8 values (q − 8 and the Q8_0 byte), float32
 * scales [out, nb] so that the output is float32 without a Cast; no zero point (0).
 */
function dequantizeLinearGraph(blocks: SplitBlocks): WeightGraph {
  const { out, in: inner } = blocks
  const signed = blocks.type === 'Q4_0' ? packSignedInt4(blocks) : blocks.values
  const values: Pick<WeightGraph, 'initializers' | 'rawInitializers'> =
    blocks.type === 'Q4_0'
      ? {
          initializers: [],
          rawInitializers: [{ name: 'values', dataType: ONNX_TYPE.int4, dims: [out, inner], bytes: signed }]
        }
      : {
          initializers: [
            tensorFromTypedArray(
              'values',
              'int8',
              [out, inner],
              new Int8Array(signed.buffer, signed.byteOffset, signed.byteLength)
            )
          ],
          rawInitializers: []
        }
  return {
    opset: 21,
    constants: [],
    rawInitializers: values.rawInitializers,
    initializers: [
      ...values.initializers,
      tensorFromTypedArray('scales', 'float32', [out, inner / BLOCK], widenScales(blocks))
    ],
    decode: [
      {
        opType: 'DequantizeLinear',
        inputs: ['values', 'scales'],
        outputs: ['W'],
        attributes: [int('axis', 1), int('block_size', BLOCK)]
      }
    ]
  }
}

/** Bytes of the stored weight. */
function initializerBytes(graph: WeightGraph): number {
  let bytes = 0
  for (const t of graph.initializers) bytes += t.data.kind === 'raw' ? t.data.bytes.byteLength : t.data.length
  for (const t of graph.rawInitializers) bytes += t.bytes.byteLength
  return bytes
}

/**
 * The weight graph and one product, input "a" [rows, inWidth], output "y" [rows, outWidth].
 * `overridable` lists the stored weight among the graph's inputs too (an initializer that is
 * also an input is a default a caller may replace, so onnxruntime's constant folding leaves the
 * decode alone instead of replacing it with its float32 result at load).
 */
function productModel(
  graph: WeightGraph,
  product: OnnxNode,
  shapes: { rows: number; inWidth: number; outWidth: number },
  overridable = false
): Uint8Array {
  const { rows, inWidth, outWidth } = shapes
  const model = encodeModel({
    irVersion: irVersionForOpset(graph.opset),
    opsetImports: [
      { domain: '', version: graph.opset },
      { domain: 'com.microsoft', version: 1 }
    ],
    producerName: 'bench/quant-matmul',
    producerVersion: '1',
    graph: {
      name: 'product',
      nodes: [...graph.decode, product],
      initializers: [...graph.initializers, ...graph.constants],
      inputs: [
        { name: 'a', dtype: 'float32', shape: [rows, inWidth] },
        ...(overridable
          ? graph.initializers.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.dims }))
          : [])
      ],
      outputs: [{ name: 'y', dtype: 'float32', shape: [rows, outWidth] }]
    }
  })
  return appendRawInitializers(model, graph.rawInitializers, overridable)
}

/**
 * Adds initializers that OnnxTensor cannot express (and, if `asInputs`, their graph inputs) by
 * appending a second ModelProto.graph field holding only them: protobuf parsers merge repeated
 * occurrences of a message field, so onnxruntime sees one graph with all of them.
 */
function appendRawInitializers(
  model: Uint8Array,
  tensors: readonly RawInitializer[],
  asInputs: boolean
): Uint8Array {
  if (tensors.length === 0) return model
  const w = new ProtoWriter()
  w.messageField(7, () => {
    for (const t of tensors) {
      w.messageField(5, () => {
        w.packedInt64Field(1, t.dims)
        w.uint32Field(2, t.dataType)
        w.stringField(8, t.name)
        w.bytesField(9, t.bytes)
      })
      if (asInputs) w.messageField(11, () => writeTensorValueInfo(w, t))
    }
  })
  const extra = w.finish()
  const merged = new Uint8Array(model.byteLength + extra.byteLength)
  merged.set(model)
  merged.set(extra, model.byteLength)
  return merged
}

/** ValueInfoProto { name, TypeProto { tensor_type { elem_type, shape { dim { dim_value } } } } }. */
function writeTensorValueInfo(w: ProtoWriter, t: RawInitializer): void {
  w.stringField(1, t.name)
  w.messageField(2, () =>
    w.messageField(1, () => {
      w.uint32Field(1, t.dataType)
      w.messageField(2, () => {
        for (const dim of t.dims) w.messageField(1, () => w.int64Field(1, dim))
      })
    })
  )
}

/**
 * A path whose weight graph yields W [out, in] for a plain Gemm each way; `overridable` keeps
 * onnxruntime from folding the decode at load (productModel).
 */
function gemmPath(
  name: string,
  graph: WeightGraph,
  weight: Float32Array,
  shape: { out: number; inner: number; overridable: boolean }
): MatmulPath {
  const { out, inner, overridable } = shape
  return {
    name,
    weightBytes: initializerBytes(graph),
    forwardModel: (rows) =>
      productModel(graph, gemm(['a', 'W'], 1), { rows, inWidth: inner, outWidth: out }, overridable),
    backwardModel: (rows) =>
      productModel(graph, gemm(['a', 'W'], 0), { rows, inWidth: out, outWidth: inner }, overridable),
    forwardWeight: weight,
    backwardWeight: weight
  }
}

function gemm(inputs: string[], transB: number): OnnxNode {
  return { opType: 'Gemm', inputs, outputs: ['y'], attributes: [int('transB', transB)] }
}

/** The graph of just the decode, output "y" = W [out, in], for the bit-for-bit check against decodeTensor. */
export function decodeOnlyModel(blocks: SplitBlocks): Uint8Array {
  const graph = blocks.type === 'Q4_0' ? q4DecodeGraph(blocks) : q8DecodeGraph(blocks)
  return encodeModel({
    irVersion: irVersionForOpset(graph.opset),
    opsetImports: [{ domain: '', version: graph.opset }],
    producerName: 'bench/quant-matmul',
    producerVersion: '1',
    graph: {
      name: 'decode',
      nodes: [...graph.decode, { opType: 'Identity', inputs: ['W'], outputs: ['y'] }],
      initializers: [...graph.initializers, ...graph.constants],
      // Overridable (see productModel), so the check runs the decode's kernels, not a folded constant.
      inputs: graph.initializers.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.dims })),
      outputs: [{ name: 'y', dtype: 'float32', shape: [blocks.out, blocks.in] }]
    }
  })
}

/**
 * DequantizeLinear-21 blocked along axis 0 feeding a MatMul, the pattern onnxruntime's QDQ
 * optimizer rewrites into MatMulNBits at load (with the session's default accuracy level). Axis 0
 * is the reduction axis, so like MatMulNBits it needs a copy blocked the other way for backward.
 */
function dequantizeMatMulPath(name: string, copies: BothWays): MatmulPath {
  const graphOf = (blocks: SplitBlocks): WeightGraph => {
    // blocks hold M [r, c] in blocks along c; the graph stores Mᵀ [c, r] in blocks along axis 0.
    const { out: r, in: c } = blocks
    const codes = transpose(q4Codes(blocks), r, c)
    return {
      opset: 21,
      constants: [],
      initializers: [
        tensorFromTypedArray(
          'scales',
          'float32',
          [c / BLOCK, r],
          transpose(widenScales(blocks), r, c / BLOCK)
        )
      ],
      rawInitializers: [
        { name: 'values', dataType: ONNX_TYPE.int4, dims: [c, r], bytes: packNibbles(codes, 8) }
      ],
      decode: [
        {
          opType: 'DequantizeLinear',
          inputs: ['values', 'scales'],
          outputs: ['W'],
          attributes: [int('axis', 0), int('block_size', BLOCK)]
        }
      ]
    }
  }
  const product: OnnxNode = { opType: 'MatMul', inputs: ['a', 'W'], outputs: ['y'] }
  return twoCopyPath(name, copies, graphOf, () => product)
}

/** A path holding one graph per direction, each from the copy blocked along its reduction axis. */
function twoCopyPath(
  name: string,
  copies: BothWays,
  graphOf: (blocks: SplitBlocks) => WeightGraph,
  productOf: (blocks: SplitBlocks) => OnnxNode
): MatmulPath {
  const { forward, transposed } = copies
  const forwardGraph = graphOf(forward)
  const backwardGraph = graphOf(transposed)
  return {
    name,
    weightBytes: initializerBytes(forwardGraph) + initializerBytes(backwardGraph),
    forwardModel: (rows) =>
      productModel(forwardGraph, productOf(forward), { rows, inWidth: forward.in, outWidth: forward.out }),
    backwardModel: (rows) =>
      productModel(backwardGraph, productOf(transposed), {
        rows,
        inWidth: forward.out,
        outWidth: forward.in
      }),
    forwardWeight: forward.decoded,
    backwardWeight: copies.backwardWeight
  }
}

/**
 * MatMulNBits both ways: forward B is W's blocks along `in`; backward (dx = dy·W, reduction over
 * `out`) needs W's transpose in blocks along `out`, quantized from the float32 weight.
 */
function matMulNBitsPath(name: string, copies: BothWays, accuracyLevel: number): MatmulPath {
  const bits = copies.forward.type === 'Q4_0' ? 4 : 8
  const graphOf = (blocks: SplitBlocks): WeightGraph => ({
    opset: DEFAULT_OPSET,
    constants: [],
    rawInitializers: [],
    initializers: [
      tensorFromTypedArray(
        'B',
        'uint8',
        [blocks.out, blocks.in / BLOCK, (BLOCK * bits) / 8],
        matMulNBitsBlob(blocks)
      ),
      tensorFromTypedArray('scales', 'float32', [blocks.out, blocks.in / BLOCK], widenScales(blocks))
    ],
    decode: []
  })
  const product = (blocks: SplitBlocks): OnnxNode => ({
    opType: 'MatMulNBits',
    domain: 'com.microsoft',
    inputs: ['a', 'B', 'scales'],
    outputs: ['y'],
    attributes: [
      int('K', blocks.in),
      int('N', blocks.out),
      int('bits', bits),
      int('block_size', BLOCK),
      int('accuracy_level', accuracyLevel)
    ]
  })
  return twoCopyPath(name, copies, graphOf, product)
}

/** Today's path, float32 W and a Gemm; also the reference each quantized path is held to. */
export function referencePath(weight: Float32Array, out: number, inner: number): MatmulPath {
  const graph: WeightGraph = {
    opset: DEFAULT_OPSET,
    constants: [],
    rawInitializers: [],
    initializers: [tensorFromTypedArray('W', 'float32', [out, inner], weight)],
    decode: []
  }
  return gemmPath('a fp32 Gemm', graph, weight, { out, inner, overridable: false })
}

/** Every path for one weight [out, in], in the order the table prints them. */
export function matmulPaths(weight: Float32Array, out: number, inner: number): MatmulPath[] {
  const q4Copies = quantizeBothWays('Q4_0', weight, out, inner)
  const q8Copies = quantizeBothWays('Q8_0', weight, out, inner)
  const q4 = q4Copies.forward
  const q8 = q8Copies.forward
  const fp16 = float32ArrayToFloat16(weight)
  const bf16 = float32ArrayToBfloat16(weight)
  const unfolded = { out, inner, overridable: true }
  const plain = { out, inner, overridable: false }
  return [
    referencePath(weight, out, inner),
    // A decode of plain initializers is constant-folded at load: onnxruntime holds float32 W.
    { ...gemmPath('b int4 as folded', q4DecodeGraph(q4), q4.decoded, plain), weightBytes: weight.byteLength },
    gemmPath('b decode int4', q4DecodeGraph(q4), q4.decoded, unfolded),
    gemmPath('b decode int8', q8DecodeGraph(q8), q8.decoded, unfolded),
    gemmPath(
      'b decode fp16',
      castDecodeGraph('fp16', fp16, out, inner),
      float16ArrayToFloat32(fp16),
      unfolded
    ),
    gemmPath(
      'b decode bf16',
      castDecodeGraph('bf16', bf16, out, inner),
      bfloat16ArrayToFloat32(bf16),
      unfolded
    ),
    gemmPath('c DQL-21 int4', dequantizeLinearGraph(q4), q4.decoded, plain),
    gemmPath('c DQL-21 int8', dequantizeLinearGraph(q8), q8.decoded, plain),
    dequantizeMatMulPath('c DQL-21 ax0 int4', q4Copies),
    matMulNBitsPath('d NBits int4 acc0', q4Copies, 0),
    matMulNBitsPath('d NBits int4 acc4', q4Copies, 4),
    matMulNBitsPath('d NBits int8 acc0', q8Copies, 0),
    matMulNBitsPath('d NBits int8 acc4', q8Copies, 4)
  ]
}
