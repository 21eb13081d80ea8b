import { contextLimit } from '../../engine/infer/model-session'
import { Scorer } from '../../engine/infer/scoring'
import { readScoreRows } from '../../engine/infer/score-rows'
import type { Device } from '../../engine/runtime/devices'
import { loadTokenizer, type TextTokenizer } from '../../engine/tokenizer/tokenizer'
import type { JobKind } from '../protocol'

export interface EngineScoreInput {
  modelDir: string
  adapterDir?: string | null
  /** JSON Lines: pre-tokenized, prompt/completion or messages rows (engine/infer/score-rows.ts). */
  dataPath: string
  device?: Device
  cacheDir?: string
  threads?: number
  batchTokens?: number
}

export interface EngineScoreOutput {
  /** One per input row, in order. */
  rows: { logprob: number; tokens: number }[]
}

/** Scores every row of a data file with a model (+ adapter): summed log-probs of the labelled tokens. */
export const engineScoreJob: JobKind<EngineScoreInput, EngineScoreOutput> = {
  kind: 'engine.score',
  summary: 'Score rows of a data file with a model: log-probabilities of their labelled tokens',
  async run(input, ctx) {
    const scorer = await Scorer.open(
      { modelDir: input.modelDir, adapterDir: input.adapterDir },
      { device: input.device, cacheDir: input.cacheDir, threads: input.threads }
    )
    try {
      const { config } = scorer.model
      let tokenizer: TextTokenizer | null = null
      const rows = readScoreRows(input.dataPath, () => (tokenizer ??= loadTokenizer(input.modelDir)), {
        vocabSize: config.vocabSize,
        maxPositions: contextLimit(config)
      })
      ctx.log('info', `scoring ${rows.length} rows of ${input.dataPath}`)
      const scores = await scorer.scoreAll(rows, {
        batchTokens: input.batchTokens,
        signal: ctx.signal,
        onProgress: (done, total) => ctx.progress(done, total, 'scoring')
      })
      return { rows: scores.map(({ logprob, tokens }) => ({ logprob, tokens })) }
    } finally {
      await scorer.release()
    }
  }
}
