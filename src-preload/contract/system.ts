/** What the app reports about itself and the machine it runs on. */
import { call, noInput } from './shared'

export interface SystemInfo {
  product: string
  version: string
  storePath: string
  /** The embedded default base model (resources/models/stories260K), or null when it is missing. */
  defaultModelPath: string | null
  /** The device the engine uses by default, and whether the CUDA EP binaries are installed. */
  engine: { device: 'cpu' | 'cuda'; cudaAvailable: boolean; onnxruntimeVersion: string }
  node: string
  platform: string
  /** Which door this client came through. */
  transport: 'ipc' | 'websocket' | 'http' | 'direct'
}

export interface SystemResources {
  at: string
  cpu: { cores: number; model: string; machinePercent: number; processPercent: number }
  memory: {
    machineTotalBytes: number
    machineUsedBytes: number
    /** This process (the one serving the API). */
    processRssBytes: number
    /** The training processes this process owns (Linux only; 0 elsewhere). */
    trainingRssBytes: number
  }
  /** From `nvidia-smi`; null when the command does not exist (no NVIDIA driver). */
  gpus:
    | {
        index: number
        name: string
        memoryUsedBytes: number
        memoryTotalBytes: number
        utilizationPercent: number
      }[]
    | null
  /** Why nvidia-smi exists but could not be read; null otherwise. */
  gpuError: string | null
}

export const systemCalls = {
  'system.info': call<SystemInfo>()('Product, version, store location and engine device.', noInput),
  'system.resources': call<SystemResources>()(
    'CPU and memory use of this machine and process, and GPU memory/utilisation where nvidia-smi exists.',
    noInput
  )
} as const
