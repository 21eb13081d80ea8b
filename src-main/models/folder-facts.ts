/** A registered model's folder as its page shows it (models.detail, job model.describe). */
import { isAbsolute, relative, resolve } from 'node:path'
import type { ModelFolderFacts, ModelSource } from '../../src-preload/contract'
import { loadTokenizer } from '../engine/tokenizer/tokenizer'
import { validateModelFolder } from '../jobs/kinds/model-validate'
import { folderSizeBytes, tokenizerKindOf } from './folder-files'
import { currentRevision, hfSnapshotOf } from './hf-cache'

export function describeModelFolder(path: string, watchedFolders: readonly string[]): ModelFolderFacts {
  const validation = validateModelFolder(path)
  return {
    validation,
    sizeBytes: folderSizeBytes(path),
    tokenizerKind: tokenizerKindOf(path),
    chatTemplate: validation.chatTemplate === 'model' ? loadTokenizer(path).chatTemplate : null,
    source: sourceOf(path, watchedFolders)
  }
}

function sourceOf(path: string, watchedFolders: readonly string[]): ModelSource {
  const snapshot = hfSnapshotOf(path)
  if (snapshot) {
    return {
      kind: 'hf-cache',
      ...snapshot,
      current: currentRevision(resolve(path, '..', '..')) === snapshot.revision
    }
  }
  const dir = resolve(path)
  const root = watchedFolders.find((folder) => {
    const inside = relative(resolve(folder), dir)
    return inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))
  })
  return { kind: 'folder', root: root ?? null }
}
