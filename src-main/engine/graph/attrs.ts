/** Node attributes: tagged values (an ONNX INT and FLOAT attribute cannot be told apart from a JS number). */
import type { OnnxAttributeValue } from '../onnx/proto'
import type { OnnxTensor } from '../onnx/tensor'

export type AttrValue = OnnxAttributeValue
export type Attrs = Readonly<Record<string, AttrValue>>

/** What attribute readers need of a GraphNode (declared here so attrs.ts and tensor.ts do not import each other). */
interface AttributedNode {
  readonly name: string
  readonly attrs: Attrs
}

export const attr = {
  int: (value: number): AttrValue => ({ kind: 'int', value }),
  float: (value: number): AttrValue => ({ kind: 'float', value }),
  string: (value: string): AttrValue => ({ kind: 'string', value }),
  ints: (value: readonly number[]): AttrValue => ({ kind: 'ints', value: [...value] }),
  floats: (value: readonly number[]): AttrValue => ({ kind: 'floats', value: [...value] }),
  tensor: (value: OnnxTensor): AttrValue => ({ kind: 'tensor', value })
}

export function intAttr(node: AttributedNode, name: string, fallback: number): number {
  const value = node.attrs[name]
  if (value === undefined) return fallback
  if (value.kind !== 'int') throw new Error(`${node.name}: attribute ${name} is ${value.kind}, expected int`)
  return Number(value.value)
}

export function intsAttr(node: AttributedNode, name: string): number[] | undefined {
  const value = node.attrs[name]
  if (value === undefined) return undefined
  if (value.kind !== 'ints')
    throw new Error(`${node.name}: attribute ${name} is ${value.kind}, expected ints`)
  return value.value.map(Number)
}

export function stringAttr(node: AttributedNode, name: string, fallback: string): string {
  const value = node.attrs[name]
  if (value === undefined) return fallback
  if (value.kind !== 'string')
    throw new Error(`${node.name}: attribute ${name} is ${value.kind}, expected string`)
  return value.value
}
