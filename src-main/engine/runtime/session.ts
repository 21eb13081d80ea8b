/**
 * The engine's only door to onnxruntime-node: create a session from a model file or bytes, run it
 * with plain typed arrays, get plain typed arrays back. Nothing outside this folder sees ORT types.
 */
import { availableParallelism } from 'node:os'
import * as ort from 'onnxruntime-node'
import { assertTypedArrayFor, type DType, type TypedArrayFor } from '../onnx/dtype'
import { numelOf } from '../onnx/tensor'
import { CUDA_SETUP_HINT, cudaProviderInstalled, type Device } from './devices'

export type { Device }

export interface SessionOptions {
  /** Default 'cpu'. */
  device?: Device
  /** CUDA device id; default 0. */
  deviceId?: number
  /** Threads inside one op; default the number of cores. */
  intraOpThreads?: number
  /**
   * Let onnxruntime plan all intermediate memory as one block from the first run's pattern;
   * default true. Training graphs, whose backward keeps many activations alive, peak much lower
   * without it (SmolLM-135M LoRA step: 5.7 GB instead of 8.3 GB).
   */
  memoryPattern?: boolean
}

/** A tensor on the JS side: dtype, dims and the typed array dtype travels in. */
export interface HostTensor<D extends DType = DType> {
  readonly dtype: D
  readonly dims: readonly number[]
  readonly data: TypedArrayFor[D]
}

export function hostTensor<D extends DType>(
  dtype: D,
  dims: readonly number[],
  data: TypedArrayFor[D]
): HostTensor<D> {
  assertTypedArrayFor(dtype, data, 'hostTensor')
  if (data.length !== numelOf(dims)) {
    throw new Error(
      `hostTensor: dims [${dims.join(', ')}] need ${numelOf(dims)} elements, got ${data.length}`
    )
  }
  return { dtype, dims: [...dims], data }
}

/**
 * Names of ORT's tensor types for our dtypes (bool travels as Uint8Array on both sides). bfloat16
 * has none: onnxruntime-node cannot carry it across the JS boundary, so it lives only in graphs.
 */
const ORT_TYPE: Readonly<Record<Exclude<DType, 'bfloat16'>, ort.Tensor.Type>> = {
  float32: 'float32',
  float64: 'float64',
  float16: 'float16',
  int64: 'int64',
  int32: 'int32',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool'
}

export class EngineSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly device: Device
  ) {}

  /** @internal use createSession */
  static wrap(session: ort.InferenceSession, device: Device): EngineSession {
    return new EngineSession(session, device)
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames
  }

  /**
   * Runs the graph; returns the requested outputs (default: all) as host tensors. Outputs named in
   * `into` are written by onnxruntime straight into those tensors' arrays (which must have the
   * output's dims), without an allocation or copy per run; the result holds `into`'s tensors for
   * them. Large outputs produced every step (a trainer's updated weights) use this.
   */
  async run(
    feeds: Readonly<Record<string, HostTensor>>,
    outputs?: readonly string[],
    into?: Readonly<Record<string, HostTensor>>
  ): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {}
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(name, t)
    let fetched: ort.InferenceSession.ReturnType
    if (into) {
      const fetches: Record<string, ort.Tensor | null> = {}
      for (const name of outputs ?? this.session.outputNames) {
        fetches[name] = into[name] ? toOrtTensor(`into "${name}"`, into[name]) : null
      }
      fetched = await this.session.run(ortFeeds, fetches)
    } else {
      fetched = outputs ? await this.session.run(ortFeeds, [...outputs]) : await this.session.run(ortFeeds)
    }
    const result: Record<string, HostTensor> = {}
    for (const [name, value] of Object.entries(fetched))
      result[name] = into?.[name] ?? fromOrtTensor(name, value as ort.Tensor)
    return result
  }

  async release(): Promise<void> {
    await this.session.release()
  }
}

export async function createSession(
  model: string | Uint8Array,
  options: SessionOptions = {}
): Promise<EngineSession> {
  const device = options.device ?? 'cpu'
  if (device === 'cuda' && !cudaProviderInstalled()) throw new Error(`createSession: ${CUDA_SETUP_HINT}`)
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders:
      device === 'cuda' ? [{ name: 'cuda', deviceId: options.deviceId ?? 0 }, 'cpu'] : ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: options.intraOpThreads ?? availableParallelism(),
    enableMemPattern: options.memoryPattern ?? true
  }
  try {
    // Two calls because ORT's overloads take a path or bytes, not their union.
    const session =
      typeof model === 'string'
        ? await ort.InferenceSession.create(model, sessionOptions)
        : await ort.InferenceSession.create(model, sessionOptions)
    return EngineSession.wrap(session, device)
  } catch (error) {
    const what = typeof model === 'string' ? model : `${model.byteLength} bytes`
    throw new Error(`createSession: loading model (${what}) failed: ${(error as Error).message}`, {
      cause: error
    })
  }
}

/** The onnxruntime-node version in use. */
export function onnxruntimeVersion(): string {
  return ort.env.versions.node ?? ort.env.versions.common
}

function toOrtTensor(name: string, t: HostTensor): ort.Tensor {
  assertTypedArrayFor(t.dtype, t.data, `run: feed "${name}"`)
  const expected = numelOf(t.dims)
  if (t.data.length !== expected) {
    throw new Error(
      `run: feed "${name}" has dims [${t.dims.join(', ')}] (${expected} elements) but ${t.data.length} values`
    )
  }
  if (t.dtype === 'bfloat16')
    throw new Error('onnxruntime-node cannot take bfloat16 tensors: feed float32 or float16')
  return new ort.Tensor(ORT_TYPE[t.dtype], t.data as never, [...t.dims])
}

function fromOrtTensor(name: string, value: ort.Tensor): HostTensor {
  const dtype = (Object.keys(ORT_TYPE) as (keyof typeof ORT_TYPE)[]).find((d) => ORT_TYPE[d] === value.type)
  if (!dtype) throw new Error(`run: output "${name}" has unsupported type ${value.type}`)
  return { dtype, dims: [...value.dims], data: value.data as TypedArrayFor[DType] }
}
