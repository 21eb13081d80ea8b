/**
 * The checkpoint layout a ModelConfig implies: the name and shape of every tensor an HF checkpoint
 * of it holds, the parameter count, and the checks of a checkpoint against both, which fail by
 * tensor name before any graph is built from the weights.
 */
import type { ModelConfig } from './hf-config'

export interface ExpectedTensor {
  name: string
  shape: number[]
}

/** Tensor-name prefix of decoder layer `i`, as in HF checkpoints. */
export function layerPrefix(i: number): string {
  return `model.layers.${i}`
}

/**
 * Every tensor an HF checkpoint of this config holds, with its shape ([out, in] for linear
 * weights). `lm_head.weight` is absent when the embeddings are tied.
 */
export function expectedTensors(config: ModelConfig): ExpectedTensor[] {
  const { hiddenSize: hidden, intermediateSize: inner, headDim, numHeads, numKvHeads } = config
  const qSize = numHeads * headDim
  const kvSize = numKvHeads * headDim
  const tensors: ExpectedTensor[] = [{ name: 'model.embed_tokens.weight', shape: [config.vocabSize, hidden] }]
  const linear = (name: string, out: number, inFeatures: number, bias: boolean): void => {
    tensors.push({ name: `${name}.weight`, shape: [out, inFeatures] })
    if (bias) tensors.push({ name: `${name}.bias`, shape: [out] })
  }
  for (let i = 0; i < config.numLayers; i++) {
    const layer = layerPrefix(i)
    tensors.push({ name: `${layer}.input_layernorm.weight`, shape: [hidden] })
    linear(`${layer}.self_attn.q_proj`, qSize, hidden, config.attentionBias)
    linear(`${layer}.self_attn.k_proj`, kvSize, hidden, config.attentionBias)
    linear(`${layer}.self_attn.v_proj`, kvSize, hidden, config.attentionBias)
    linear(`${layer}.self_attn.o_proj`, hidden, qSize, config.attentionOutputBias)
    if (config.qkNorm) {
      tensors.push({ name: `${layer}.self_attn.q_norm.weight`, shape: [headDim] })
      tensors.push({ name: `${layer}.self_attn.k_norm.weight`, shape: [headDim] })
    }
    tensors.push({ name: `${layer}.post_attention_layernorm.weight`, shape: [hidden] })
    linear(`${layer}.mlp.gate_proj`, inner, hidden, config.mlpBias)
    linear(`${layer}.mlp.up_proj`, inner, hidden, config.mlpBias)
    linear(`${layer}.mlp.down_proj`, hidden, inner, config.mlpBias)
  }
  tensors.push({ name: 'model.norm.weight', shape: [hidden] })
  if (!config.tieWordEmbeddings) tensors.push({ name: 'lm_head.weight', shape: [config.vocabSize, hidden] })
  return tensors
}

/**
 * Parameters of the model, tied embeddings counted once: the sum of expectedTensors' sizes,
 * computed arithmetically so that no per-layer structure is built to know it.
 */
export function parameterCount(config: ModelConfig): number {
  const { hiddenSize: hidden, intermediateSize: inner, headDim, vocabSize: vocab } = config
  const qSize = config.numHeads * headDim
  const kvSize = config.numKvHeads * headDim
  const attention =
    (qSize + 2 * kvSize) * hidden + // q, k, v weights
    (config.attentionBias ? qSize + 2 * kvSize : 0) +
    hidden * qSize + // o weight
    (config.attentionOutputBias ? hidden : 0) +
    (config.qkNorm ? 2 * headDim : 0)
  const mlp = 3 * inner * hidden + (config.mlpBias ? 2 * inner + hidden : 0)
  const perLayer = 2 * hidden + attention + mlp // + input and post-attention norms
  const embeddings = vocab * hidden * (config.tieWordEmbeddings ? 1 : 2)
  return embeddings + config.numLayers * perLayer + hidden // + final norm
}

/**
 * Refuses a config that implies more parameters than its weights have bytes: no dtype stores a
 * parameter in less than one byte, so such a config cannot describe these weights, and building
 * its tensor list (or anything larger) would only spend memory. Arithmetic only, so it is safe to
 * run before anything else is derived from the config. `weightBytes` is the sum of the tensors'
 * byte sizes, which the safetensors reader has checked against the file sizes.
 */
export function assertWeightsCanHoldConfig(config: ModelConfig, weightBytes: number, source: string): void {
  const implied = parameterCount(config)
  if (implied > weightBytes) {
    throw new Error(
      `model config ${source}: implies ${implied} parameters (${config.numLayers} layers, hidden size ` +
        `${config.hiddenSize}, intermediate size ${config.intermediateSize}, vocabulary ${config.vocabSize}), ` +
        `but the weights hold only ${weightBytes} bytes: this config does not describe these weights`
    )
  }
}

export interface CheckpointReport {
  ok: boolean
  missing: string[]
  unexpected: string[]
  shapeMismatches: { name: string; expected: number[]; actual: number[] }[]
  /** Present but harmless: RoPE buffers saved by old exports, or an lm_head beside tied embeddings. */
  ignored: string[]
}

function isIgnorable(name: string, config: ModelConfig): boolean {
  return name.endsWith('.rotary_emb.inv_freq') || (config.tieWordEmbeddings && name === 'lm_head.weight')
}

/** Compares a checkpoint's tensors with what the config implies. */
export function checkCheckpointTensors(
  config: ModelConfig,
  present: Iterable<{ name: string; shape: readonly number[] }>
): CheckpointReport {
  const expected = new Map(expectedTensors(config).map((t) => [t.name, t.shape]))
  const seen = new Set<string>()
  const report: CheckpointReport = { ok: true, missing: [], unexpected: [], shapeMismatches: [], ignored: [] }
  for (const { name, shape } of present) {
    seen.add(name)
    const want = expected.get(name)
    if (!want) {
      if (isIgnorable(name, config)) report.ignored.push(name)
      else report.unexpected.push(name)
    } else if (want.length !== shape.length || want.some((d, i) => d !== shape[i])) {
      report.shapeMismatches.push({ name, expected: want, actual: [...shape] })
    }
  }
  for (const name of expected.keys()) if (!seen.has(name)) report.missing.push(name)
  report.ok =
    report.missing.length === 0 && report.unexpected.length === 0 && report.shapeMismatches.length === 0
  return report
}

/** The report in words, for an error message: at most `limit` names per kind. */
export function describeCheckpointReport(report: CheckpointReport, limit = 10): string {
  const list = (names: string[]): string =>
    names.slice(0, limit).join(', ') + (names.length > limit ? ` and ${names.length - limit} more` : '')
  const parts: string[] = []
  if (report.missing.length) parts.push(`missing ${report.missing.length}: ${list(report.missing)}`)
  if (report.unexpected.length) {
    parts.push(`unexpected ${report.unexpected.length}: ${list(report.unexpected)}`)
  }
  if (report.shapeMismatches.length) {
    const mismatches = report.shapeMismatches.map(
      (m) => `${m.name} is [${m.actual.join(', ')}], expected [${m.expected.join(', ')}]`
    )
    parts.push(`wrong shape ${mismatches.length}: ${list(mismatches)}`)
  }
  return parts.length ? parts.join('; ') : 'all tensors present with the expected shapes'
}

/** Throws, naming the offending tensors, unless the checkpoint holds exactly what the config implies. */
export function assertCheckpointMatchesConfig(
  config: ModelConfig,
  checkpoint: { names(): string[]; info(name: string): { shape: number[] } },
  source: string
): void {
  const report = checkCheckpointTensors(
    config,
    checkpoint.names().map((name) => ({ name, shape: checkpoint.info(name).shape }))
  )
  if (!report.ok) {
    throw new Error(
      `checkpoint ${source} does not match its ${config.architecture} config: ${describeCheckpointReport(report)}`
    )
  }
}
