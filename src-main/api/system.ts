import { createRequire } from 'node:module'
import { cudaProviderInstalled } from '../engine/runtime/devices'
import { defaultModelDir } from '../resources'
import { APP_VERSION, PRODUCT_NAME } from '../version'
import type { Handlers } from './handlers'
import { systemResources } from './system-resources'

function onnxruntimeVersion(): string {
  const require = createRequire(import.meta.url)
  return (require('onnxruntime-node/package.json') as { version: string }).version
}

function embeddedModelPath(): string | null {
  try {
    return defaultModelDir()
  } catch {
    return null
  }
}

export const systemHandlers: Pick<Handlers, 'system.info' | 'system.resources'> = {
  'system.resources': (_input, ctx) => systemResources(ctx.runs.trainingPids()),
  'system.info': (_input, ctx) => {
    const cudaAvailable = cudaProviderInstalled()
    return {
      product: PRODUCT_NAME,
      version: APP_VERSION,
      storePath: ctx.store.dir,
      defaultModelPath: embeddedModelPath(),
      engine: {
        device: cudaAvailable ? 'cuda' : 'cpu',
        cudaAvailable,
        onnxruntimeVersion: onnxruntimeVersion()
      },
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
      transport: ctx.transport
    }
  }
}
