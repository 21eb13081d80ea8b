/**
 * Models users already have: discovering model folders in the Hugging Face cache and in folders
 * the user watches, a registered model's page, and taking a model off the list.
 */
import { z } from 'zod'
import type { ModelListing, ModelValidation } from './models'
import type { RunStatus } from './runs'
import { call, id, noInput } from './shared'

/** Where a model folder came from. */
export type ModelSource =
  /** A snapshot in the HF hub cache; `current`: the revision refs/main names. */
  | { kind: 'hf-cache'; repoId: string; revision: string; current: boolean }
  /** Found under a watched folder (`root`), or registered by its path. */
  | { kind: 'folder'; root: string | null }

/** A model folder discovery found. */
export interface DiscoveredModel {
  /** `org/name@rev7` for an HF cache snapshot, the folder's name otherwise. */
  name: string
  path: string
  source: ModelSource
  architecture: string | null
  parameterCount: number | null
  dtype: string | null
  /** The folder's files (symlinks followed, blobs counted once per file that names them). */
  sizeBytes: number
  /** models.validate finds no errors: the folder can be registered and trained. */
  trainsHere: boolean
  /** models.validate's errors, when it does not train here. */
  problems: string[]
  /** The registered (listed) model with this path, if any. */
  registeredModelId: number | null
}

/** Something discovery looked at and left out, and why. */
export interface SkippedModelPath {
  path: string
  reason: string
}

export interface DiscoveryRoot {
  path: string
  kind: 'hf-cache' | 'folder'
  /** False when the folder is missing (an HF cache never filled, a watched folder since moved). */
  exists: boolean
}

export interface ModelDiscovery {
  roots: DiscoveryRoot[]
  models: DiscoveredModel[]
  skipped: SkippedModelPath[]
}

/** A run trained from a model. */
export interface ModelRunLink {
  id: number
  name: string
  status: RunStatus
  createdAt: string
}

/** An evaluation of a base model: its task and headline score. */
export interface ModelEvaluationLink {
  id: number
  task: string
  status: string
  primaryMetric: string | null
  value: number | null
}

/** What models.detail reads from a model's folder (in a job: the files may be large). */
export interface ModelFolderFacts {
  validation: ModelValidation
  sizeBytes: number
  /** tokenizer.json's model type: BPE, Unigram, WordPiece, WordLevel; null when unreadable. */
  tokenizerKind: string | null
  /** The chat template's text (the tokenizer's own; null when it has none). */
  chatTemplate: string | null
  source: ModelSource
}

export interface ModelDetail extends ModelFolderFacts {
  model: ModelListing
  /** False once models.remove took it off the list (runs that used it still point at it). */
  listed: boolean
  runs: ModelRunLink[]
  evaluations: ModelEvaluationLink[]
}

const folderPath = z.string().trim().min(1).max(4096)

export const modelLibraryCalls = {
  'models.discover': call<ModelDiscovery>()(
    'Model folders in the HF cache ($HF_HOME/hub) and the watched folders, each checked as ' +
      'models.validate checks it (in a job; the call answers when it ends).',
    noInput
  ),
  'models.folders': call<string[]>()('The folders models.discover looks in besides the HF cache.', noInput),
  'models.addFolder': call<string[]>()(
    'Watch a folder for models (it and two levels below); answers the watched folders.',
    z.object({ path: folderPath }).strict()
  ),
  'models.removeFolder': call<string[]>()(
    'Stop watching a folder; answers the watched folders.',
    z.object({ path: folderPath }).strict()
  ),
  'models.detail': call<ModelDetail>()(
    "A registered model's page: what its folder holds, runs trained from it, its evaluations.",
    z.object({ id }).strict()
  ),
  'models.remove': call<{ id: number }>()(
    'Take a model off the list; refused while a run that uses it is queued or active. Runs keep ' +
      'their record of it, and its files are never deleted.',
    z.object({ id }).strict()
  )
} as const
