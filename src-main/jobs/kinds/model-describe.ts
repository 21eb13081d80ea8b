/**
 * What a model's page shows of its folder (models.detail), read in a job worker for the same reason
 * as model.validate: the config, headers and tokenizer files may be large or hostile.
 */
import type { ModelFolderFacts } from '../../../src-preload/contract'
import { describeModelFolder } from '../../models/folder-facts'
import type { JobKind } from '../protocol'

export const MODEL_DESCRIBE_JOB = 'model.describe'

export interface ModelDescribeInput {
  path: string
  /** The folders models.discover watches, so a model found under one names it as its source. */
  watchedFolders: string[]
}

export const modelDescribeJob: JobKind<ModelDescribeInput, ModelFolderFacts> = {
  kind: MODEL_DESCRIBE_JOB,
  summary: "Read a model folder's size, tokenizer and chat template for its page",
  run: async ({ path, watchedFolders }) => describeModelFolder(path, watchedFolders)
}
