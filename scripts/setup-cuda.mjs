// Installs onnxruntime-node's CUDA execution provider (CUDA 12), which `npm install` skips because it
// comes from outside the npm registry (see .npmrc). Run it once on a machine with an NVIDIA GPU,
// CUDA 12 and cuDNN 9; afterwards `--device cuda` works.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)
const packageDir = dirname(require.resolve('onnxruntime-node/package.json'))
const binaryDir = join(packageDir, 'bin', 'napi-v6', process.platform, process.arch)
const provider = join(binaryDir, 'libonnxruntime_providers_cuda.so')

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(
    `setup:cuda: onnxruntime-node ships a CUDA provider for linux-x64 only (this is ${process.platform}-${process.arch})`
  )
  process.exit(1)
}
if (existsSync(provider)) {
  console.log(`setup:cuda: already installed (${provider})`)
  process.exit(0)
}
console.log('setup:cuda: downloading the CUDA 12 execution provider of onnxruntime-node…')
execFileSync(process.execPath, [join(packageDir, 'script', 'install.js')], {
  cwd: packageDir,
  stdio: 'inherit',
  env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'cuda12' }
})
if (!existsSync(provider)) {
  console.error(`setup:cuda: the download finished but ${provider} is missing`)
  process.exit(1)
}
console.log(`setup:cuda: done. Check with: npm run cli -- info`)
