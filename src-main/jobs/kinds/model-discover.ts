/**
 * models.discover's scan (src-main/models/discovery.ts) in a job worker: it reads every candidate's
 * config, safetensors headers and tokenizer, which may be large, many and hostile.
 */
import type { ModelDiscovery } from '../../../src-preload/contract'
import { discoverModels, type DiscoveryInput } from '../../models/discovery'
import type { JobKind } from '../protocol'

export const MODEL_DISCOVER_JOB = 'model.discover'

export const modelDiscoverJob: JobKind<DiscoveryInput, ModelDiscovery> = {
  kind: MODEL_DISCOVER_JOB,
  summary: 'Find model folders in the HF cache and the watched folders, and check each',
  run: async (input) => discoverModels(input)
}
