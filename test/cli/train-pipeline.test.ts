/**
 * `finetune-studio train --pipeline FILE` on stories260K: two stages from a JSON file (SFT, then
 * DFT on a mixture whose prompts are chosen against the first stage's), trained as one run with
 * the result in --out and the first stage's in --out/stages/1; recorded in a store as one run; and
 * the file's errors named.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseCommandArgs } from '../../src-main/cli/command'
import { trainCommand } from '../../src-main/cli/commands/train'
import { trainInputFromArgs } from '../../src-main/cli/commands/train-args'
import { pipelineConfigFrom, readPipelineFile } from '../../src-main/cli/commands/train-pipeline'
import { promptKey } from '../../src-main/datasets/mixture'
import { writeJsonl } from '../engine/train/invented-stories'
import { STORIES_260K, tempDir } from '../helpers/temp'
import { runCaptured as cli } from './captured-cli'

const temp = tempDir('fs-cli-pipeline-')
afterAll(() => temp.cleanup())
const NAMES = ['Zob', 'Mila', 'Tom', 'Ana', 'Kai', 'Lu', 'Ben', 'Eve', 'Max', 'Sue', 'Ivy', 'Leo']
const request = (name: string) => ({
  prompt: `Tell me about ${name}.`,
  completion: `${name} the little dragon flew over the hill. ${name} was happy.`
})
// The first stage's requests (8 names), and 4 requests it never sees.
writeJsonl(join(temp.dir, 'requests.jsonl'), NAMES.slice(0, 8).map(request))
writeJsonl(join(temp.dir, 'new-requests.jsonl'), NAMES.slice(8).map(request))

function pipelineFile(name: string, content: unknown): string {
  const file = join(temp.dir, name)
  writeFileSync(file, JSON.stringify(content))
  return file
}

const TWO_STAGES = {
  stages: [
    { recipe: 'sft', data: 'requests.jsonl', maxSteps: 3, lr: 0.01 },
    {
      recipe: 'dft',
      mixture: [
        { data: 'requests.jsonl', ratio: 1 },
        { data: 'new-requests.jsonl', ratio: 1 }
      ],
      overlap: 0.5,
      maxSteps: 2
    }
  ]
}

const flags = (out: string) => ['--model', STORIES_260K, '--out', out, '--batch-size', '2', '--lora-r', '4']

describe('finetune-studio train --pipeline', () => {
  it('trains the file’s stages as one run, composing the second stage’s rows', async () => {
    const out = join(temp.dir, 'out')
    const {
      code,
      out: stdout,
      err
    } = await cli(['train', '--pipeline', pipelineFile('two.json', TWO_STAGES), ...flags(out), '--json'])
    expect(err).toContain('stage 2: mixed 4 rows of requests.jsonl, 4 rows of new-requests.jsonl')
    expect(err).toContain('stage 2: 4 rows with prompts an earlier stage trains on, 4 without')
    expect(code).toBe(0)
    const summary = JSON.parse(stdout) as { status: string; step: number; totalSteps: number }
    expect(summary).toMatchObject({ status: 'completed', step: 5, totalSteps: 5 })
    expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(true)
    expect(existsSync(join(out, 'stages', '1', 'adapter_model.safetensors'))).toBe(true)
    // Overlap 0.5 of a 4 + 4 mixture: the 4 new requests and 4 the first stage trained on.
    const seen = new Set(NAMES.slice(0, 8).map((name) => promptKey(request(name))))
    const second = readFileSync(join(out, 'data', 'stage-2', 'train.jsonl'), 'utf8')
      .trim()
      .split('\n')
    expect(second.filter((line) => seen.has(promptKey(JSON.parse(line))))).toHaveLength(4)
    expect(second).toHaveLength(8)
  }, 120_000)

  it('records the pipeline in a store as one run of its stages', async () => {
    const store = join(temp.dir, 'store')
    const out = join(temp.dir, 'recorded')
    const { code, out: stdout } = await cli([
      'train',
      '--pipeline',
      pipelineFile('recorded.json', TWO_STAGES),
      ...flags(out),
      '--store',
      store
    ])
    expect(code).toBe(0)
    expect(stdout).toMatch(/recorded as run 1/)
    const listed = await cli(['runs', 'list', '--store', store, '--json'])
    expect(JSON.parse(listed.out)[0]).toMatchObject({
      name: 'sft → dft-lora on train.jsonl',
      status: 'completed'
    })
  }, 120_000)

  it('gives every stage the memory flags: they are the run’s, not a stage’s', () => {
    const file = pipelineFile('memory.json', TWO_STAGES)
    const args = parseCommandArgs(trainCommand, [
      ...flags(join(temp.dir, 'memory')),
      ...['--pipeline', file, '--base-precision', 'int8', '--no-recompute']
    ])
    const base = trainInputFromArgs(args, { dataFile: '' })
    const config = pipelineConfigFrom(file, readPipelineFile(file), base, () => {})
    expect(config.stages.map(({ basePrecision, recompute }) => ({ basePrecision, recompute }))).toEqual([
      { basePrecision: 'int8', recompute: false },
      { basePrecision: 'int8', recompute: false }
    ])
  })

  it('names the file and the field of a bad pipeline, and refuses data flags beside it', async () => {
    const bad = await cli([
      'train',
      '--pipeline',
      pipelineFile('bad.json', { stages: [{ recipe: 'sft', maxSteps: 2 }] }),
      ...flags(join(temp.dir, 'bad'))
    ])
    expect(bad.code).not.toBe(0)
    expect(bad.err).toMatch(/--pipeline: .*bad\.json: \.stages\[0\]: give "data" or "mixture", one of them/)
    const unknown = await cli([
      'train',
      '--pipeline',
      pipelineFile('unknown.json', { stages: [{ recipe: 'nope', data: 'requests.jsonl' }] }),
      ...flags(join(temp.dir, 'unknown'))
    ])
    expect(unknown.err).toMatch(/stage 1: .*nope/)
    const both = await cli([
      'train',
      '--pipeline',
      pipelineFile('x.json', TWO_STAGES),
      '--data',
      'x.jsonl',
      ...flags(join(temp.dir, 'x'))
    ])
    expect(both.err).toContain("--data is a stage's in a pipeline")
  }, 60_000)
})
