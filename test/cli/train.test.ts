/**
 * `finetune-studio train`: flags and their errors, help, a LoRA run on stories260K through the
 * job worker (progress lines, metrics file, export) whose adapter `generate --adapter` loads,
 * resume refusal, and the cooperative stop of the worker.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseCommandArgs } from '../../src-main/cli/command'
import { trainCommand, trainInWorker } from '../../src-main/cli/commands/train'
import { trainInputFromArgs } from '../../src-main/cli/commands/train-args'
import { loadTokenizer } from '../../src-main/engine/tokenizer/tokenizer'
import { collateRows } from '../../src-main/engine/train/batches'
import { createStepProgram } from '../../src-main/engine/train/compile-step'
import { readTrainingData } from '../../src-main/engine/train/data'
import { resolveTrainConfig } from '../../src-main/engine/train/train-config'
import { listRecipes, resolveRecipe } from '../../src-main/recipes/index'
import {
  heldOutStories,
  INVENTED_NAME,
  STORY_PROMPT,
  trainingStories,
  writeJsonl
} from '../engine/train/invented-stories'
import { STORIES_260K, tempDir } from '../helpers/temp'
import { runCaptured } from './captured-cli'

const cli = runCaptured

describe('finetune-studio train', () => {
  const temp = tempDir('fs-cli-train-')
  const store = join(temp.dir, 'store')
  let data: string
  let evalData: string
  beforeAll(() => {
    data = writeJsonl(join(temp.dir, 'train.jsonl'), trainingStories())
    evalData = writeJsonl(join(temp.dir, 'eval.jsonl'), heldOutStories())
  })
  afterAll(() => temp.cleanup())
  const required = () => [
    '--model',
    STORIES_260K,
    '--data',
    data,
    '--out',
    join(temp.dir, 'never'),
    '--store',
    store
  ]

  it('--help lists the recipes with their paper citations', async () => {
    const { code, out } = await cli(['train', '--help'])
    expect(code).toBe(0)
    for (const flag of [
      '--lora-targets',
      '--recipe-param',
      '--metrics-jsonl',
      '--no-shuffle',
      '--resume',
      '--merge',
      '--base-precision fp32|fp16|bf16|int8|int4',
      '--recompute',
      '--no-recompute'
    ]) {
      expect(out).toContain(flag)
    }
    expect(out).toMatch(/dft +Dynamic Fine-Tuning \(DFT\)\n.*Wu et al\. \(2025\).*arXiv:2508\.05629/)
    expect(out).toMatch(
      /asft +Anchored Supervised Fine-Tuning \(ASFT\)\n.*Zhu et al\. \(2025\).*arXiv:2509\.23753/
    )
    expect(out).toContain('kl_weight')
  })

  it.each([
    [['--lr', 'fast'], '--lr must be a number, got fast'],
    [['--batch-size', '0'], '--batch-size must be a whole number ≥ 1, got 0'],
    [['--adapter', 'qlora'], '--adapter must be one of lora, full, got "qlora"'],
    [['--betas', '0.9'], '--betas must be two numbers in [0, 1) as b1,b2, got "0.9"'],
    [['--max-steps', '3', '--epochs', '1'], 'give --max-steps or --epochs, not both'],
    [['--lora-targets', 'q_proj,qq_proj'], '--lora-targets must be a list of q_proj, k_proj'],
    [
      ['--recipe', 'ppo'],
      `--recipe must be one of ${listRecipes()
        .map((r) => r.name)
        .join(', ')}, got "ppo"`
    ],
    [['--recipe', 'asft', '--recipe-param', 'kl_weight=-2'], 'kl_weight must be ≥ 0, got -2'],
    [['--recipe-param', 'oops'], '--recipe-param must be NAME=VALUE, got "oops"'],
    [['--lr-scheduler', 'step'], '--lr-scheduler must be one of constant, linear, cosine, got "step"'],
    [['--max-seq-len', '4096'], '--max-seq-len must be at most the 512 positions of'],
    [['--device', 'tpu'], '--device must be one of cpu, cuda, got "tpu"'],
    [
      ['--base-precision', 'int3'],
      '--base-precision must be one of fp32, fp16, bf16, int8, int4, got "int3"'
    ],
    [
      ['--adapter', 'full', '--base-precision', 'int4'],
      "--base-precision applies to LoRA's frozen base; full fine-tuning trains float32 weights"
    ],
    [['--recompute', '--no-recompute'], 'give --recompute or --no-recompute, not both']
  ])('refuses %j with one line naming the flag and value', async (extra, message) => {
    const { code, errLines } = await cli(['train', ...required(), ...extra])
    expect(code).toBe(2)
    expect(errLines[0]).toContain(message)
    expect(errLines[0]).toMatch(/^finetune-studio train: /)
    expect(existsSync(join(temp.dir, 'never'))).toBe(false)
  })

  it('reads the memory flags: float32 base by default, recomputation left to the config', () => {
    const input = (...extra: string[]) =>
      trainInputFromArgs(parseCommandArgs(trainCommand, [...required(), ...extra]))
    expect(input()).toMatchObject({ basePrecision: 'fp32', recompute: undefined })
    expect(input('--base-precision', 'int4', '--no-recompute')).toMatchObject({
      basePrecision: 'int4',
      recompute: false
    })
    expect(input('--base-precision', 'bf16', '--recompute')).toMatchObject({
      basePrecision: 'bf16',
      recompute: true
    })
  })

  it('refuses a missing --model and an unknown flag', async () => {
    expect((await cli(['train', '--data', data, '--out', 'x'])).errLines[0]).toContain('--model is required')
    const unknown = await cli(['train', ...required(), '--learning-rate', '1'])
    expect(unknown.code).toBe(2)
    expect(unknown.errLines[0]).toContain("'--learning-rate'")
  })

  describe('a LoRA run on stories about an invented name', () => {
    const out = join(temp.dir, 'zob')
    const metrics = join(temp.dir, 'metrics.jsonl')
    let run: Awaited<ReturnType<typeof cli>>
    beforeAll(async () => {
      run = await cli([
        'train',
        ...['--model', STORIES_260K, '--data', data, '--out', out, '--store', store],
        ...['--lora-targets', 'q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj', '--lora-r', '8'],
        ...['--lr', '0.01', '--lr-scheduler', 'constant', '--batch-size', '4', '--max-steps', '30'],
        ...['--no-shuffle', '--save-every', '10', '--eval-data', evalData, '--metrics-jsonl', metrics]
      ])
    })

    it('prints a progress line per step on stderr and a summary on stdout', () => {
      expect(run.code).toBe(0)
      const progress = run.errLines.filter((line) => /^step \d+\/\d+ /.test(line))
      expect(progress).toHaveLength(30)
      progress.forEach((line, i) => {
        expect(line).toMatch(
          new RegExp(
            `^step ${i + 1}/30  loss \\d+\\.\\d{4}  lr 1\\.00e-2  grad-norm \\S+  \\d+ tok/s  elapsed \\d+:\\d\\d  ETA \\d+:\\d\\d$`
          )
        )
      })
      expect(run.out).toContain(
        `PEFT adapter written to ${out} (adapter_config.json, adapter_model.safetensors)`
      )
      expect(run.out).toMatch(/held-out loss (\d\.\d+) \(step 0\) → (\d\.\d+) \(step 30\)/)
      const [, before, after] = /held-out loss (\d\.\d+) \(step 0\) → (\d\.\d+)/.exec(run.out)!
      expect(Number(after)).toBeLessThan(Number(before))
      for (const step of [10, 20, 30]) expect(existsSync(join(out, 'checkpoints', `step-${step}`))).toBe(true)
    })

    it('writes one metrics line per step; the first loss is the base model’s NLL on rows 0–3 (file order)', async () => {
      const lines = readFileSync(metrics, 'utf8')
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line))
      expect(lines.map((line) => line.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
      for (const line of lines) {
        expect(Object.keys(line).sort()).toEqual(['grad_norm', 'loss', 'lr', 'step', 'tokens_per_s'])
        expect(line.lr).toBe(0.01)
        expect(line.tokens_per_s).toBeGreaterThan(0)
      }
      expect(lines[29].loss).toBeLessThan(lines[0].loss)

      // LoRA starts with B = 0, so before the first update the model is the base model.
      const config = resolveTrainConfig(
        {
          modelDir: STORIES_260K,
          dataFile: data,
          outDir: out,
          cacheDir: join(store, 'graph-cache')
        },
        resolveRecipe
      )
      const examples = readTrainingData(data, {
        tokenizer: loadTokenizer(STORIES_260K),
        maxSeqLen: 512
      }).examples
      const program = await createStepProgram({
        ...config,
        recipe: resolveRecipe(config.recipe.name, config.recipe.params),
        seed: 0,
        packed: false,
        modelDir: STORIES_260K
      })
      try {
        const first = await program.evaluate(collateRows([[0], [1], [2], [3]], examples))
        const second = await program.evaluate(collateRows([[4], [5], [6], [7]], examples))
        expect(lines[0].loss).toBeCloseTo(first.loss, 5)
        expect(Math.abs(lines[0].loss - second.loss)).toBeGreaterThan(1e-3)
      } finally {
        await program.release()
      }
    })

    it('exports an adapter that `generate --adapter` loads: the output turns to the invented name', async () => {
      const generate = (extra: string[]) =>
        cli([
          'generate',
          '--model',
          STORIES_260K,
          ...extra,
          '--prompt',
          STORY_PROMPT,
          '--temperature',
          '0',
          '--max-new-tokens',
          '24',
          '--store',
          store
        ])
      const base = await generate([])
      const tuned = await generate(['--adapter', out])
      expect(base.code).toBe(0)
      expect(tuned.code).toBe(0)
      expect(base.out).not.toContain(INVENTED_NAME)
      expect(tuned.out).toContain(INVENTED_NAME)
      expect(tuned.out).not.toBe(base.out)
    })

    it('refuses to resume with a different learning rate, naming --lr', async () => {
      const { code, errLines } = await cli([
        'train',
        ...['--model', STORIES_260K, '--data', data, '--out', join(temp.dir, 'resumed'), '--store', store],
        ...['--lora-targets', 'q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj', '--lora-r', '8'],
        ...[
          '--lr',
          '0.02',
          '--lr-scheduler',
          'constant',
          '--batch-size',
          '4',
          '--max-steps',
          '30',
          '--no-shuffle'
        ],
        ...['--resume', join(out, 'checkpoints', 'step-10')]
      ])
      expect(code).toBe(1)
      expect(errLines[0]).toContain('--lr differs (the checkpoint has 0.01, this run 0.02)')
    })
  })

  it('a cooperative stop of the worker saves a checkpoint and ends with status stopped', async () => {
    const stop = new AbortController()
    const config = resolveTrainConfig(
      {
        modelDir: STORIES_260K,
        dataFile: data,
        outDir: join(temp.dir, 'stopped'),
        cacheDir: join(store, 'graph-cache'),
        maxSteps: 1000
      },
      resolveRecipe
    )
    const progress: string[] = []
    const events: { type: string }[] = []
    const result = await trainInWorker(
      config,
      {
        onProgress: (line) => {
          progress.push(line)
          stop.abort()
        },
        onEventLine: (line) => events.push(JSON.parse(line))
      },
      stop.signal
    )
    expect(result.status).toBe('stopped')
    expect(result.step).toBeGreaterThanOrEqual(1)
    expect(result.step).toBeLessThan(1000)
    expect(result.lastCheckpoint).toBe(join(config.outDir, 'checkpoints', `step-${result.step}`))
    expect(existsSync(join(result.lastCheckpoint!, 'trainer_state.json'))).toBe(true)
    expect(existsSync(join(config.outDir, 'adapter_config.json'))).toBe(false)
    expect(events[0].type).toBe('start')
    expect(events.filter((e) => e.type === 'step')).toHaveLength(result.step)
    expect(progress).toHaveLength(result.step)
  })
})
