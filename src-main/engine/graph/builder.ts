import { assertTypedArrayFor, typedArrayFromNumbers, type DType, type TypedArrayFor } from '../onnx/dtype'
import { DEFAULT_OPSET, irVersionForOpset } from '../onnx/opset'
import { encodeModel, type OnnxModel, type OnnxNode, type OnnxValueInfo } from '../onnx/proto'
import { externalTensor, numelOf, tensorFromTypedArray, type OnnxTensor } from '../onnx/tensor'
import { saveModel, type SavedModel, type SaveModelOptions } from '../onnx/writer'
import type { Attrs } from './attrs'
import type { Dim, Shape } from './shape'
import { Tensor, type GraphNode } from './tensor'

export interface GraphBuilderOptions {
  /** ONNX opset to import; default DEFAULT_OPSET (18). */
  opset?: number
  producerName?: string
  producerVersion?: string
  docString?: string
}

export interface OutputSpec {
  dtype: DType
  shape: Shape | null
  constValue?: readonly number[] | null
}

export interface NodeSpec {
  opType: string
  inputs: readonly (Tensor | null)[]
  outputs: readonly OutputSpec[]
  attrs?: Attrs
  domain?: string
  /** Gradient rule key when it differs from opType. */
  gradOp?: string
}

/** Constants up to this many elements keep their values for build-time reasoning and are shared. */
const SMALL_CONSTANT_ELEMENTS = 64

/**
 * Builds one ONNX graph. Value and node names are generated from a per-graph counter, so the same
 * sequence of calls always yields the same bytes (graphs are cached by hash).
 */
export class GraphBuilder {
  readonly opset: number
  private readonly options: GraphBuilderOptions
  private readonly nodeList: GraphNode[] = []
  private readonly inputList: Tensor[] = []
  private readonly outputList: Tensor[] = []
  private readonly initializerList: { tensor: Tensor; proto: OnnxTensor }[] = []
  private readonly usedNames = new Set<string>()
  private readonly sharedConstants = new Map<string, Tensor>()
  private readonly metadataEntries: [string, string][] = []
  private readonly scopes: string[] = []
  /** Intermediate values renamed by output(name); they keep their name. */
  private readonly userNamed = new Set<Tensor>()
  private nextId = 0
  private nextNodeId = 0
  private nextNameIndex = 0
  private nextFreshDim = 0
  private readonly segmentList: Segment[] = []

  constructor(
    readonly name: string,
    options: GraphBuilderOptions = {}
  ) {
    this.options = options
    this.opset = options.opset ?? DEFAULT_OPSET
    irVersionForOpset(this.opset)
  }

  get nodes(): readonly GraphNode[] {
    return this.nodeList
  }

  get inputs(): readonly Tensor[] {
    return this.inputList
  }

  get outputs(): readonly Tensor[] {
    return this.outputList
  }

  /** A graph input; string dims are symbolic (dim_param), e.g. ['batch', 'seq']. */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    this.claimName(name, 'input')
    for (const d of shape) {
      if (typeof d === 'string' && d.startsWith(FRESH_DIM_PREFIX)) {
        throw new Error(
          `input "${name}": dim names starting with "${FRESH_DIM_PREFIX}" are reserved, got "${d}"`
        )
      }
    }
    const tensor = new Tensor(this, this.nextId++, name, dtype, this.withFreshDims(shape), 'input')
    this.inputList.push(tensor)
    return tensor
  }

  /**
   * A named weight. `data` is referenced, not copied: keep it unchanged until the model is
   * encoded or saved. Large ones go to the external data file on save.
   */
  initializer<D extends DType>(
    name: string,
    dtype: D,
    dims: readonly number[],
    data: TypedArrayFor[D]
  ): Tensor {
    this.claimName(name, 'initializer')
    const proto = tensorFromTypedArray(name, dtype, dims, data)
    return this.addInitializer(proto, null, 'initializer')
  }

  /** A weight whose bytes already sit in a file inside the model's folder (e.g. shared across graphs). */
  externalInitializer(
    name: string,
    dtype: DType,
    dims: readonly number[],
    ref: { location: string; offset: number; length?: number }
  ): Tensor {
    this.claimName(name, 'externalInitializer')
    return this.addInitializer(externalTensor(name, dtype, dims, ref), null, 'initializer')
  }

  /**
   * A constant tensor. Small ones (≤ 64 elements) remember their values, which lets ops reason
   * about them at build time, and identical small constants are shared.
   */
  constant(dtype: DType, dims: readonly number[], values: ArrayLike<number> | TypedArrayFor[DType]): Tensor {
    const numel = numelOf(dims)
    if (values.length !== numel) {
      throw new Error(`constant: dims [${dims.join(', ')}] need ${numel} values, got ${values.length}`)
    }
    const small = numel <= SMALL_CONSTANT_ELEMENTS
    const constValue = small ? Array.from(values as ArrayLike<number | bigint>, Number) : null
    const key = small ? `${dtype}|${dims.join(',')}|${constValue!.join(',')}` : null
    const shared = key === null ? undefined : this.sharedConstants.get(key)
    if (shared) return shared
    const name = this.uniqueName('const', false)
    const data = toTypedArray(dtype, values, 'constant')
    const tensor = this.addInitializer(tensorFromTypedArray(name, dtype, dims, data), constValue, 'constant')
    if (key !== null) this.sharedConstants.set(key, tensor)
    return tensor
  }

  /** A rank-0 constant. */
  scalar(value: number, dtype: DType): Tensor {
    return this.constant(dtype, [], [value])
  }

  /** A 1-D int64 constant (axes, shapes, starts…). */
  int64s(values: readonly number[]): Tensor {
    return this.constant('int64', [values.length], values)
  }

  /**
   * Declares `tensor` a graph output. With a name, an unnamed intermediate value is renamed;
   * inputs, initializers and already-named values are passed through an Identity instead.
   */
  output(tensor: Tensor, name?: string): Tensor {
    this.assertOwn(tensor, 'output')
    if (name === undefined || name === tensor.name) return this.addOutput(tensor)
    const renameable =
      tensor.kind === 'node' && !this.outputList.includes(tensor) && !this.isUserNamed(tensor)
    if (renameable) {
      this.claimName(name, 'output')
      this.usedNames.delete(tensor.name)
      tensor._name = name
      this.userNamed.add(tensor)
      return this.addOutput(tensor)
    }
    this.claimName(name, 'output')
    const [alias] = this.nodeWithOutputNames(
      { opType: 'Identity', inputs: [tensor], outputs: [{ dtype: tensor.dtype, shape: tensor.shape }] },
      [name]
    )
    this.userNamed.add(alias)
    return this.addOutput(alias)
  }

  /** Runs `build` with `prefix/` prepended to generated names (readable graphs, e.g. 'layers.3/attn'). */
  scope<T>(prefix: string, build: () => T): T {
    this.scopes.push(prefix)
    try {
      return build()
    } finally {
      this.scopes.pop()
    }
  }

  /**
   * Runs `build` and marks the nodes it appends as one recomputed segment (gradient checkpointing):
   * the backward pass computes them again from the segment's inputs instead of keeping their values
   * from the forward pass (autodiff.ts). Only what flows out of the segment stays alive between the
   * passes.
   */
  checkpoint<T>(build: () => T): T {
    return this.segment('checkpoint', build)
  }

  /**
   * Runs `build` and marks the nodes it appends as recomputed where the backward pass reads them:
   * a gradient rule that needs a value of the segment (a frozen matrix decoded from its stored
   * form) gets a fresh computation of it rather than the forward pass's, which therefore need not
   * stay alive until the backward pass (autodiff.ts).
   */
  recomputedOnRead<T>(build: () => T): T {
    return this.segment('read', build)
  }

  /** The recomputed segments, in build order (nested ones after the one holding them). */
  get segments(): readonly Segment[] {
    return this.segmentList
  }

  private segment<T>(kind: SegmentKind, build: () => T): T {
    const first = this.nodeList.length
    const segment: Segment = { kind, nodes: new Set() }
    this.segmentList.push(segment)
    const result = build()
    for (const node of this.nodeList.slice(first)) segment.nodes.add(node)
    return result
  }

  metadata(key: string, value: string): void {
    this.metadataEntries.push([key, value])
  }

  /** Appends a node; ops call this with the output dtypes/shapes they inferred. */
  node(spec: NodeSpec): Tensor[] {
    const base = this.uniqueName(spec.opType, true)
    if (spec.outputs.length === 1) return this.nodeWithOutputNames(spec, [base], base)
    const names = spec.outputs.map((_, i) => `${base}:${i}`)
    for (const name of names) this.claimName(name, spec.opType)
    return this.nodeWithOutputNames(spec, names, base)
  }

  /** `node` for single-output ops. */
  node1(spec: NodeSpec): Tensor {
    if (spec.outputs.length !== 1)
      throw new Error(`node1: ${spec.opType} declares ${spec.outputs.length} outputs`)
    return this.node(spec)[0]
  }

  /**
   * For passes that rewrite a built graph: replaces `node` (single-output) by the node computing
   * the tensor `build` returns, which takes over `node`'s output tensor, so every handle on it,
   * its name and its uses stay. Nodes `build` appends move to where `node` was, which keeps the
   * order topological; their names carry `node`'s scope.
   */
  replaceNode(node: GraphNode, build: () => Tensor): void {
    const at = this.nodeList.indexOf(node)
    if (at < 0) throw new Error(`replaceNode: ${node.name} is not a node of graph "${this.name}"`)
    if (node.outputs.length !== 1) throw new Error(`replaceNode: ${node.name} has several outputs`)
    const [output] = node.outputs
    const firstNew = this.nodeList.length
    const result = this.inScopeOf(node, build)
    const added = this.nodeList.splice(firstNew)
    const producer = result.producer
    if (producer === null || producer !== added[added.length - 1]) {
      throw new Error(`replaceNode: the replacement of ${node.name} must be the last node built`)
    }
    if (result.dtype !== output.dtype || !compatibleShapes(result.shape, output.shape)) {
      throw new Error(`replaceNode: ${result} cannot stand in for ${output}`)
    }
    const replacement: GraphNode = { ...producer, outputs: [output] }
    output._producer = replacement
    this.nodeList.splice(at, 1, ...added.slice(0, -1), replacement)
  }

  /** For rewrite passes: removes `node` if nothing reads its outputs any more; true if it did. */
  removeIfUnread(node: GraphNode): boolean {
    const read = (t: Tensor) => this.outputList.includes(t) || this.nodeList.some((n) => n.inputs.includes(t))
    if (node.outputs.some(read)) return false
    const at = this.nodeList.indexOf(node)
    if (at >= 0) this.nodeList.splice(at, 1)
    return at >= 0
  }

  /**
   * Removes the nodes from `first` on (by position) whose outputs nothing reads, except those
   * computing `keep`, repeatedly (a removed node may leave its inputs unread too). For autodiff,
   * whose recomputed segments build values some gradient rules never read.
   */
  removeUnreadSince(first: number, keep: readonly Tensor[]): void {
    const reads = new Map<Tensor, number>()
    const read = (t: Tensor | null, by: number) => {
      if (t) reads.set(t, (reads.get(t) ?? 0) + by)
    }
    for (const node of this.nodeList) for (const input of node.inputs) read(input, 1)
    for (const t of [...this.outputList, ...keep]) read(t, 1)
    const removed = new Set<GraphNode>()
    for (let i = this.nodeList.length - 1; i >= first; i--) {
      const node = this.nodeList[i]
      if (node.outputs.some((t) => (reads.get(t) ?? 0) > 0)) continue
      removed.add(node)
      for (const input of node.inputs) read(input, -1)
    }
    if (removed.size > 0)
      this.nodeList.splice(0, this.nodeList.length, ...this.nodeList.filter((n) => !removed.has(n)))
  }

  toModel(): OnnxModel {
    if (this.outputList.length === 0) throw new Error(`graph "${this.name}": no outputs declared`)
    const nodes: OnnxNode[] = this.nodeList.map((node) => ({
      opType: node.opType,
      domain: node.domain,
      name: node.name,
      inputs: encodeInputNames(node.inputs),
      outputs: node.outputs.map((t) => t.name),
      attributes: Object.entries(node.attrs).map(([name, value]) => ({ name, value }))
    }))
    const domains = new Set(this.nodeList.map((n) => n.domain).filter((d) => d !== ''))
    return {
      irVersion: irVersionForOpset(this.opset),
      opsetImports: [
        { domain: '', version: this.opset },
        ...[...domains].sort().map((domain) => ({ domain, version: 1 }))
      ],
      producerName: this.options.producerName ?? 'finetune-studio',
      producerVersion: this.options.producerVersion ?? '0',
      docString: this.options.docString,
      graph: {
        name: this.name,
        nodes,
        initializers: this.initializerList.map((i) => i.proto),
        inputs: this.inputList.map(valueInfo),
        outputs: this.outputList.map(valueInfo)
      },
      metadata: this.metadataEntries
    }
  }

  /** Alias of toModel(), named after the ONNX message it builds. */
  toModelProto(): OnnxModel {
    return this.toModel()
  }

  /** The encoded model with every initializer inline (for small graphs and in-memory sessions). */
  toBytes(): Uint8Array {
    return encodeModel(this.toModel())
  }

  /** Writes `dir/model.onnx` and, for large initializers, `dir/model.onnx.data`. */
  save(dir: string, options?: SaveModelOptions): Promise<SavedModel> {
    return saveModel(dir, this.toModel(), options)
  }

  /** @internal Throws unless `tensor` belongs to this graph. */
  assertOwn(tensor: Tensor, where: string): void {
    if (tensor.graph !== this) {
      throw new Error(
        `${where}: tensor ${tensor.name} belongs to graph "${tensor.graph.name}", not "${this.name}"`
      )
    }
  }

  /** Runs `build` with the scope `node` was built in (its name up to the last '/'). */
  private inScopeOf<T>(node: GraphNode, build: () => T): T {
    const cut = node.name.lastIndexOf('/')
    const saved = this.scopes.splice(0, this.scopes.length, ...(cut > 0 ? [node.name.slice(0, cut)] : []))
    try {
      return build()
    } finally {
      this.scopes.splice(0, this.scopes.length, ...saved)
    }
  }

  private isUserNamed(tensor: Tensor): boolean {
    return this.userNamed.has(tensor)
  }

  private nodeWithOutputNames(spec: NodeSpec, names: readonly string[], nodeName = names[0]): Tensor[] {
    for (const input of spec.inputs) if (input) this.assertOwn(input, spec.opType)
    const outputs: Tensor[] = []
    const node: GraphNode = {
      id: this.nextNodeId++,
      name: nodeName,
      opType: spec.opType,
      domain: spec.domain ?? '',
      gradOp: spec.gradOp ?? spec.opType,
      inputs: [...spec.inputs],
      outputs,
      attrs: spec.attrs ?? {}
    }
    spec.outputs.forEach((out, i) => {
      const shape = out.shape === null ? null : this.withFreshDims(out.shape)
      outputs.push(
        new Tensor(this, this.nextId++, names[i], out.dtype, shape, 'node', out.constValue ?? null, node)
      )
    })
    this.nodeList.push(node)
    return outputs
  }

  /**
   * Unknown dims become fresh symbols ('?0', '?1', …): still unknown, but a value and everything
   * elementwise-derived from it then provably share that dim, which lets gradients decide
   * broadcasting at build time. They are written to the model as unknown dims.
   */
  private withFreshDims(shape: Shape): Dim[] {
    return shape.map((d) => (d === null ? `${FRESH_DIM_PREFIX}${this.nextFreshDim++}` : d))
  }

  private addInitializer(
    proto: OnnxTensor,
    constValue: readonly number[] | null,
    kind: 'initializer' | 'constant'
  ) {
    const tensor = new Tensor(this, this.nextId++, proto.name, proto.dtype, [...proto.dims], kind, constValue)
    this.initializerList.push({ tensor, proto })
    return tensor
  }

  private addOutput(tensor: Tensor): Tensor {
    if (this.outputList.includes(tensor)) throw new Error(`output: ${tensor.name} is already an output`)
    this.outputList.push(tensor)
    return tensor
  }

  private claimName(name: string, where: string): void {
    if (name === '') throw new Error(`${where}: empty name`)
    if (this.usedNames.has(name))
      throw new Error(`${where}: name "${name}" is already used in graph "${this.name}"`)
    this.usedNames.add(name)
  }

  /** Next free generated name; scoped names carry the current scope prefix. */
  private uniqueName(base: string, scoped: boolean): string {
    const prefix = scoped && this.scopes.length > 0 ? `${this.scopes.join('/')}/` : ''
    for (;;) {
      const name = `${prefix}${base}_${this.nextNameIndex++}`
      if (!this.usedNames.has(name)) {
        this.usedNames.add(name)
        return name
      }
    }
  }
}

export type SegmentKind = 'checkpoint' | 'read'

/** Nodes the backward pass computes again (GraphBuilder.checkpoint / recomputedOnRead). */
export interface Segment {
  readonly kind: SegmentKind
  readonly nodes: Set<GraphNode>
}

/** Generated symbols for unknown dims; user dim names must not start with it. */
export const FRESH_DIM_PREFIX = '?'

function valueInfo(tensor: Tensor): OnnxValueInfo {
  const shape = tensor.shape?.map((d) => (typeof d === 'string' && d.startsWith(FRESH_DIM_PREFIX) ? null : d))
  return { name: tensor.name, dtype: tensor.dtype, shape: shape ?? null }
}

/** Same rank, and no dim that both know differs. */
function compatibleShapes(a: Shape | null, b: Shape | null): boolean {
  if (a === null || b === null) return true
  return (
    a.length === b.length &&
    a.every((d, i) => typeof d !== 'number' || typeof b[i] !== 'number' || d === b[i])
  )
}

/** Omitted optional inputs are '' in the middle and dropped at the end. */
function encodeInputNames(inputs: readonly (Tensor | null)[]): string[] {
  const names = inputs.map((t) => (t ? t.name : ''))
  while (names.length > 0 && names[names.length - 1] === '') names.pop()
  return names
}

function toTypedArray(dtype: DType, values: ArrayLike<number> | TypedArrayFor[DType], where: string) {
  if (!ArrayBuffer.isView(values)) return typedArrayFromNumbers(dtype, values)
  assertTypedArrayFor(dtype, values, where)
  return values as TypedArrayFor[DType]
}
