/**
 * The GRPO line of bench/train.ts: grpo on its own samples, run by the trainer itself
 * (engine/train/trainer.ts with the grpo recipe and a reward spec) on the bench model, with the lora
 * line's LoRA and AdamW. Before each step the model as it is then answers each of the step's prompts
 * G = 4 times at temperature 1; each completion is rewarded by length_penalty over its text; the step
 * trains with dapo, β = 0, μ = 1. The figures are the trainer's own: rollout/tokens_per_s and the
 * step's training tokens/s, medians over the steps after the warm-up. PyTorch does the same work in
 * bench/reference/torch_grpo.py.
 *
 * A run needs a tokenizer (to read its prompts and to decode completions for the reward), which the
 * bench model lacks: this one is word-level (WordPiece holding whole words only), token id t reading
 * "w<t>", so the reward's text is a pure function of the token ids and the reference can compute it.
 * It lives in a sibling folder of the bench model that hard-links its weights.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeTextFileAtomically } from '../src-main/engine/checkpoint/atomic-write'
import { readModelConfig } from '../src-main/engine/checkpoint/hf-config'
import { Rng } from '../src-main/engine/rng'
import type { OptimizerConfig } from '../src-main/engine/train/optimizers'
import type { AdapterSpec } from '../src-main/engine/train/step-program'
import { resolveTrainConfig } from '../src-main/engine/train/train-config'
import { train } from '../src-main/engine/train/trainer'
import { resolveRecipe } from '../src-main/recipes/index'
import { median } from './bench-model'

export const GROUP_SIZE = 4

/** Prompts per step and their lengths in tokens (bos included); bench/reference/torch_grpo.py mirrors it. */
export function grpoShape(quick: boolean) {
  return {
    prompts: quick ? 2 : 4,
    promptTokens: quick ? 16 : 32,
    completionTokens: quick ? 16 : 32
  }
}

export interface GrpoSettings {
  quick: boolean
  modelDir: string
  cacheDir: string
  adapter: Extract<AdapterSpec, { kind: 'lora' }>
  optimizer: OptimizerConfig
  lr: number
  warmupSteps: number
  measuredSteps: number
}

export interface GrpoReport {
  method: 'grpo'
  rolloutTokensPerSecond: number
  trainTokensPerSecond: number
  rolloutTokensPerSecondAll: number[]
  trainTokensPerSecondAll: number[]
  /** From the call to the trainer's start event: data, weights, step graph build or cache load. */
  setupSeconds: number
  peakRssMiB: number
  losses: number[]
  rewardMeans: number[]
}

const SPECIAL_TOKENS = ['<unk>', '<s>', '</s>']

/** Token id t (past the special tokens) reads "w<t>". */
function wordOf(id: number): string {
  return `w${id}`
}

function tokenizerJson(vocabSize: number): object {
  const words = Array.from({ length: vocabSize }, (_, id) => SPECIAL_TOKENS[id] ?? wordOf(id))
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true
    })),
    normalizer: null,
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: false },
    model: {
      type: 'WordPiece',
      unk_token: '<unk>',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(words.map((word, id) => [word, id]))
    }
  }
}

/** The bench model with the word-level tokenizer; the weights are linked last, marking the folder complete. */
function modelWithTokenizer(benchModelDir: string, vocabSize: number): string {
  const dir = `${benchModelDir}-grpo`
  if (existsSync(join(dir, 'model.safetensors'))) return dir
  mkdirSync(dir, { recursive: true })
  copyFileSync(join(benchModelDir, 'config.json'), join(dir, 'config.json'))
  writeTextFileAtomically(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson(vocabSize)))
  const config = {
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    add_bos_token: true,
    add_eos_token: false
  }
  writeTextFileAtomically(join(dir, 'tokenizer_config.json'), JSON.stringify(config))
  linkSync(join(benchModelDir, 'model.safetensors'), join(dir, 'model.safetensors'))
  return dir
}

/** One prompt row per prompt the run answers; the completion is a placeholder gold answer. */
function writePrompts(file: string, count: number, promptTokens: number, vocabSize: number): void {
  const rng = Rng.fromSeed(3)
  const words = () =>
    Array.from({ length: promptTokens - 1 }, () =>
      wordOf(SPECIAL_TOKENS.length + rng.int(vocabSize - SPECIAL_TOKENS.length))
    )
  const rows = Array.from({ length: count }, () =>
    JSON.stringify({ prompt: words().join(' '), completion: 'w3' })
  )
  writeFileSync(file, rows.join('\n') + '\n')
}

/**
 * length_penalty over characters with max_length = cache_length = 8 per completion token: the
 * reward is −characters / (8 · tokens), which differs between completions, so every group trains.
 */
function rewardSpec(completionTokens: number): string {
  const length = 8 * completionTokens
  return JSON.stringify({
    terms: [{ reward: 'length_penalty', weight: 1, params: { max_length: length, cache_length: length } }]
  })
}

export async function benchGrpo(settings: GrpoSettings): Promise<GrpoReport> {
  const { prompts, promptTokens, completionTokens } = grpoShape(settings.quick)
  const steps = settings.warmupSteps + settings.measuredSteps
  const { vocabSize } = readModelConfig(settings.modelDir)
  const work = mkdtempSync(join(tmpdir(), 'finetune-studio-bench-grpo-'))
  try {
    const dataFile = join(work, 'prompts.jsonl')
    writePrompts(dataFile, prompts * steps, promptTokens, vocabSize)
    const config = resolveTrainConfig(
      {
        modelDir: modelWithTokenizer(settings.modelDir, vocabSize),
        dataFile,
        outDir: join(work, 'out'),
        cacheDir: settings.cacheDir,
        adapter: settings.adapter,
        optimizer: settings.optimizer,
        lr: settings.lr,
        lrScheduler: 'constant',
        maxGradNorm: 0,
        batchSize: prompts * GROUP_SIZE,
        maxSteps: steps,
        maxSeqLen: promptTokens + completionTokens,
        shuffle: false,
        seed: 4,
        recipe: {
          name: 'grpo',
          params: {
            rewards: rewardSpec(completionTokens),
            group_size: GROUP_SIZE,
            loss_type: 'dapo',
            beta: 0,
            num_iterations: 1,
            temperature: 1,
            max_completion_length: completionTokens
          }
        }
      },
      resolveRecipe
    )
    const started = performance.now()
    let setupSeconds = 0
    const measured: { rollout: number; train: number }[] = []
    const losses: number[] = []
    const rewardMeans: number[] = []
    await train(config, {
      resolveRecipe,
      onEvent: (event) => {
        if (event.type === 'start') setupSeconds = (performance.now() - started) / 1000
        if (event.type !== 'step') return
        losses.push(event.loss)
        rewardMeans.push(event.metrics['rewards/mean'])
        if (event.step > settings.warmupSteps) {
          measured.push({ rollout: event.metrics['rollout/tokens_per_s'], train: event.tokensPerSecond })
        }
      }
    })
    const rolloutAll = measured.map((m) => m.rollout)
    const trainAll = measured.map((m) => m.train)
    return {
      method: 'grpo',
      rolloutTokensPerSecond: median(rolloutAll),
      trainTokensPerSecond: median(trainAll),
      rolloutTokensPerSecondAll: rolloutAll,
      trainTokensPerSecondAll: trainAll,
      setupSeconds,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      losses,
      rewardMeans
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
