import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/**
 * onnxruntime-node ships its CPU build inside the npm package, but its CUDA execution provider is
 * downloaded by an install script from outside npm. Our .npmrc skips that download, so CUDA is
 * available only after `npm run setup:cuda`; this is how the engine finds out.
 */
export const CUDA_SETUP_HINT =
  'the CUDA execution provider of onnxruntime-node is not installed: run `npm run setup:cuda` ' +
  '(needs CUDA 12 and cuDNN 9 on this machine), then try again'

export function onnxruntimeBinaryDir(): string {
  const require = createRequire(import.meta.url)
  const packageDir = dirname(require.resolve('onnxruntime-node/package.json'))
  return join(packageDir, 'bin', 'napi-v6', process.platform, process.arch)
}

/** The CUDA execution provider library onnxruntime-node loads for device 'cuda'. */
export function cudaProviderPath(binaryDir = onnxruntimeBinaryDir()): string {
  const library =
    process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'
  return join(binaryDir, library)
}

export function cudaProviderInstalled(binaryDir = onnxruntimeBinaryDir()): boolean {
  return existsSync(cudaProviderPath(binaryDir))
}

export type Device = 'cpu' | 'cuda'

/** The execution providers for a device, or a clear error when that device cannot be used here. */
export function executionProviders(device: Device): string[] {
  if (device === 'cpu') return ['cpu']
  if (!cudaProviderInstalled()) throw new Error(`--device cuda: ${CUDA_SETUP_HINT}`)
  return ['cuda', 'cpu']
}
