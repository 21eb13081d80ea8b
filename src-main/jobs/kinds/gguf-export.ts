/**
 * A GGUF export: the file engine/export/gguf.ts writes (atomically, itself), with an Ollama
 * Modelfile beside it (`<name>.Modelfile`, whose FROM names the GGUF file next to it).
 */
import { mkdirSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { GgufExportType } from '../../../src-preload/contract'
import { writeTextFileAtomically } from '../../engine/checkpoint/atomic-write'
import { writeGguf } from '../../engine/export/gguf'
import { ollamaModelfile } from '../../engine/export/modelfile'
import { loadTokenizer } from '../../engine/tokenizer/tokenizer'

export interface GgufExportOptions {
  modelDir: string
  adapterDir: string | null
  outFile: string
  type: GgufExportType
  signal: AbortSignal
  onProgress: (done: number, total: number) => void
}

/** `<outFile without .gguf>.Modelfile`. */
export function modelfilePathFor(outFile: string): string {
  return `${outFile.replace(/\.gguf$/i, '')}.Modelfile`
}

/** Writes the GGUF file and its Modelfile; returns their names. */
export async function writeGgufExport(options: GgufExportOptions): Promise<string[]> {
  mkdirSync(dirname(options.outFile), { recursive: true })
  await writeGguf({
    modelDir: options.modelDir,
    adapterDir: options.adapterDir,
    outFile: options.outFile,
    type: options.type,
    onProgress: options.onProgress,
    signal: options.signal
  })
  const modelfile = modelfilePathFor(options.outFile)
  const tokenizer = loadTokenizer(options.modelDir)
  writeTextFileAtomically(modelfile, ollamaModelfile({ from: `./${basename(options.outFile)}`, tokenizer }))
  return [basename(options.outFile), basename(modelfile)]
}
