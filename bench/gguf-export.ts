/**
 * GGUF export speed: writeGguf in each type on the SmolLM-135M-shaped random model the other
 * benchmarks share (its rows of 576 are not whole k-quant blocks, so Q4_K_M stores all but the
 * 1536-wide ffn_down rows in the Q8_0 fallback).
 *
 *   npx tsx bench/gguf-export.ts [--quick]
 *
 * The model gets stories260K's tokenizer (its vocabulary padded to the model's), so the numbers
 * are the weights' conversion, not tokenizer metadata.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { writeGguf, GGUF_FILE_TYPES } from '../src-main/engine/export/gguf'
import { writeRandomModel } from './bench-model'

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false } } })
const quick = flags.quick!
const STORIES_TOKENIZER = join(import.meta.dirname, '..', '..', 'shared', 'models', 'stories260K')

function modelWithTokenizer(): string {
  const weightsDir = writeRandomModel(quick)
  const dir = join(tmpdir(), 'finetune-studio-bench', `gguf-export${quick ? '-quick' : ''}`)
  if (!existsSync(join(dir, 'tokenizer.json'))) {
    mkdirSync(dir, { recursive: true })
    for (const file of ['config.json', 'model.safetensors'])
      symlinkSync(join(weightsDir, file), join(dir, file))
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
      copyFileSync(join(STORIES_TOKENIZER, file), join(dir, file))
    }
  }
  return dir
}

const modelDir = modelWithTokenizer()
const outDir = join(tmpdir(), 'finetune-studio-bench', 'gguf-out')
mkdirSync(outDir, { recursive: true })
console.log('| type   | seconds | MiB written | params/s (M) |')
console.log('|--------|---------|-------------|--------------|')
for (const type of GGUF_FILE_TYPES) {
  const outFile = join(outDir, `model-${type}.gguf`)
  const start = performance.now()
  const written = await writeGguf({ modelDir, outFile, type })
  const seconds = (performance.now() - start) / 1000
  const params = statSync(join(modelDir, 'model.safetensors')).size / 4
  console.log(
    `| ${type.padEnd(6)} | ${seconds.toFixed(2).padStart(7)} | ${(written.bytes / 2 ** 20).toFixed(1).padStart(11)} | ` +
      `${(params / seconds / 1e6).toFixed(1).padStart(12)} |`
  )
  rmSync(outFile)
}
