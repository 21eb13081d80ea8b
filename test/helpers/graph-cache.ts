/** Fake graph-cache folders (engine/cache.ts) with entries of known sizes and last-use times. */
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const HOUR_MS = 60 * 60 * 1000
export const DAY_MS = 24 * HOUR_MS

export interface FakeGraph {
  /** `train-…onnx` for a step graph, any other `….onnx` for an inference graph. */
  name: string
  bytes: number
  usedAt: number
}

export interface FakeWeights {
  key: string
  /** The size of weights.bin, the only file with bytes besides the graphs. */
  bytes: number
  usedAt: number
  graphs?: FakeGraph[]
}

/** Writes a weights folder as prepareWeights leaves it, graphs beside; returns the folder. */
export function writeFakeWeights(cacheDir: string, entry: FakeWeights): string {
  const folder = join(cacheDir, entry.key)
  mkdirSync(folder, { recursive: true })
  writeWithTime(join(folder, 'weights.bin'), entry.bytes, entry.usedAt)
  writeWithTime(join(folder, 'last-used'), 0, entry.usedAt)
  for (const graph of entry.graphs ?? []) writeWithTime(join(folder, graph.name), graph.bytes, graph.usedAt)
  return folder
}

function writeWithTime(path: string, bytes: number, time: number): void {
  writeFileSync(path, Buffer.alloc(bytes))
  utimesSync(path, new Date(time), new Date(time))
}
