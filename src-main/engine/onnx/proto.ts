/**
 * ONNX ModelProto as plain TypeScript values, and their protobuf encoding.
 * Field numbers follow onnx/onnx.proto3 (the same numbers as onnx.proto).
 */
import { ONNX_DATA_TYPE, type DType } from './dtype'
import { ProtoWriter } from './protobuf'
import type { OnnxTensor } from './tensor'

/** A dimension: a size, a symbolic name (dim_param) or unknown. */
export type OnnxDim = number | string | null

export interface OnnxValueInfo {
  readonly name: string
  readonly dtype: DType
  /** null: rank unknown (no shape written). */
  readonly shape: readonly OnnxDim[] | null
}

export type OnnxAttributeValue =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number | bigint }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'ints'; readonly value: readonly (number | bigint)[] }
  | { readonly kind: 'strings'; readonly value: readonly string[] }
  | { readonly kind: 'tensor'; readonly value: OnnxTensor }

export interface OnnxAttribute {
  readonly name: string
  readonly value: OnnxAttributeValue
}

export interface OnnxNode {
  readonly opType: string
  /** '' is the default ONNX domain. */
  readonly domain?: string
  readonly name?: string
  /** '' marks an omitted optional input. */
  readonly inputs: readonly string[]
  readonly outputs: readonly string[]
  readonly attributes?: readonly OnnxAttribute[]
  readonly docString?: string
}

export interface OnnxGraph {
  readonly name: string
  readonly nodes: readonly OnnxNode[]
  readonly initializers: readonly OnnxTensor[]
  readonly inputs: readonly OnnxValueInfo[]
  readonly outputs: readonly OnnxValueInfo[]
  readonly valueInfo?: readonly OnnxValueInfo[]
  readonly docString?: string
}

export interface OnnxOpsetImport {
  readonly domain: string
  readonly version: number
}

export interface OnnxModel {
  readonly irVersion: number
  readonly opsetImports: readonly OnnxOpsetImport[]
  readonly producerName: string
  readonly producerVersion: string
  readonly docString?: string
  readonly graph: OnnxGraph
  /** metadata_props, written in the given order. */
  readonly metadata?: readonly (readonly [string, string])[]
}

/** AttributeProto.AttributeType */
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7, strings: 8 } as const

const DATA_LOCATION_EXTERNAL = 1
/** protobuf messages cannot exceed 2 GiB; larger weights must go to external data. */
const MAX_PROTO_BYTES = 2 ** 31 - 1

export function encodeModel(model: OnnxModel): Uint8Array {
  const w = new ProtoWriter()
  w.int64Field(1, model.irVersion)
  w.stringField(2, model.producerName)
  w.stringField(3, model.producerVersion)
  if (model.docString) w.stringField(6, model.docString)
  w.messageField(7, () => writeGraph(w, model.graph))
  for (const opset of model.opsetImports) {
    w.messageField(8, () => {
      w.stringField(1, opset.domain)
      w.int64Field(2, opset.version)
    })
  }
  for (const [key, value] of model.metadata ?? []) writeStringEntry(w, 14, key, value)
  if (w.length > MAX_PROTO_BYTES) {
    throw new Error(
      `encodeModel: graph "${model.graph.name}" encodes to ${w.length} bytes, over the 2 GiB protobuf limit; ` +
        'store large initializers as external data (saveModel)'
    )
  }
  return w.finish()
}

function writeGraph(w: ProtoWriter, graph: OnnxGraph): void {
  for (const node of graph.nodes) w.messageField(1, () => writeNode(w, node))
  w.stringField(2, graph.name)
  for (const tensor of graph.initializers) w.messageField(5, () => writeTensor(w, tensor))
  if (graph.docString) w.stringField(10, graph.docString)
  for (const input of graph.inputs) w.messageField(11, () => writeValueInfo(w, input))
  for (const output of graph.outputs) w.messageField(12, () => writeValueInfo(w, output))
  for (const info of graph.valueInfo ?? []) w.messageField(13, () => writeValueInfo(w, info))
}

function writeNode(w: ProtoWriter, node: OnnxNode): void {
  for (const input of node.inputs) w.stringField(1, input)
  for (const output of node.outputs) w.stringField(2, output)
  if (node.name) w.stringField(3, node.name)
  w.stringField(4, node.opType)
  for (const attribute of node.attributes ?? []) w.messageField(5, () => writeAttribute(w, attribute))
  if (node.docString) w.stringField(6, node.docString)
  if (node.domain) w.stringField(7, node.domain)
}

function writeAttribute(w: ProtoWriter, attribute: OnnxAttribute): void {
  w.stringField(1, attribute.name)
  const { value } = attribute
  switch (value.kind) {
    case 'float':
      w.float32Field(2, value.value)
      break
    case 'int':
      w.int64Field(3, value.value)
      break
    case 'string':
      w.stringField(4, value.value)
      break
    case 'tensor':
      w.messageField(5, () => writeTensor(w, value.value))
      break
    case 'floats':
      w.packedFloat32Field(7, value.value)
      break
    case 'ints':
      w.packedInt64Field(8, value.value)
      break
    case 'strings':
      for (const s of value.value) w.stringField(9, s)
      break
  }
  w.uint32Field(20, ATTRIBUTE_TYPE[value.kind])
}

function writeTensor(w: ProtoWriter, tensor: OnnxTensor): void {
  w.packedInt64Field(1, tensor.dims)
  w.uint32Field(2, ONNX_DATA_TYPE[tensor.dtype])
  w.stringField(8, tensor.name)
  const { data } = tensor
  if (data.kind === 'raw') {
    w.bytesField(9, data.bytes)
    return
  }
  writeStringEntry(w, 13, 'location', data.location)
  writeStringEntry(w, 13, 'offset', String(data.offset))
  writeStringEntry(w, 13, 'length', String(data.length))
  w.uint32Field(14, DATA_LOCATION_EXTERNAL)
}

function writeValueInfo(w: ProtoWriter, info: OnnxValueInfo): void {
  w.stringField(1, info.name)
  // TypeProto { tensor_type = 1: TypeProto.Tensor { elem_type = 1, shape = 2 } }
  w.messageField(2, () =>
    w.messageField(1, () => {
      w.uint32Field(1, ONNX_DATA_TYPE[info.dtype])
      if (info.shape) w.messageField(2, () => writeShape(w, info.shape!))
    })
  )
}

function writeShape(w: ProtoWriter, shape: readonly OnnxDim[]): void {
  for (const dim of shape) {
    // TensorShapeProto.Dimension { dim_value = 1 | dim_param = 2 }; an empty one means unknown.
    w.messageField(1, () => {
      if (typeof dim === 'number') w.int64Field(1, dim)
      else if (typeof dim === 'string') w.stringField(2, dim)
    })
  }
}

function writeStringEntry(w: ProtoWriter, field: number, key: string, value: string): void {
  w.messageField(field, () => {
    w.stringField(1, key)
    w.stringField(2, value)
  })
}
