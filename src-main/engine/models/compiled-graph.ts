/**
 * Graphs compiled for a model are saved beside its converted weights (onnxruntime loads external
 * data only from the model's folder). Building a graph is cheap, since weights are references into
 * weights.bin, so it is always built, and its file is named after the hash of its bytes: a change in
 * the model code gives a new file instead of a stale one.
 */
import { createHash } from 'node:crypto'
import { existsSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { recordCacheUse } from '../cache'
import { replaceFileAtomically } from '../checkpoint/atomic-write'
import { GraphBuilder } from '../graph/index'
import type { ParamProvider } from './llama'
import type { PreparedWeights } from './weights'

/** Builds graph `kind` over `weights`, saves it unless already there, and returns the model file path. */
export function compileGraph(
  weights: PreparedWeights,
  kind: string,
  build: (g: GraphBuilder, param: ParamProvider) => void
): string {
  const g = new GraphBuilder(kind)
  build(g, weights.provider(g))
  const bytes = g.toBytes()
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16)
  const path = join(weights.dir, `${kind}-${hash}.onnx`)
  if (!existsSync(path)) {
    replaceFileAtomically(path, (fd) => {
      let done = 0
      while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done)
    })
  }
  recordCacheUse(path)
  return path
}
