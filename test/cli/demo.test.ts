import { afterAll, describe, expect, it } from 'vitest'
import type { EvalMatrix } from '../../src-preload/contract'
import { runCli } from '../../src-main/cli/index'
import { DEMO_DATASET } from '../../src-main/cli/commands/demo'
import { openStore } from '../../src-main/store'
import { tempDir } from '../helpers/temp'
import { runCaptured } from './captured-cli'

describe('finetune-studio demo (reduced: 12 steps)', () => {
  const store = tempDir()
  afterAll(() => store.cleanup())
  let checkpointId = 0
  let runId = 0

  it('records the whole lineage, evaluates base and last checkpoint, and the fine-tuned model beats the base on held-out loss', async () => {
    const out: string[] = []
    const code = await runCli(['demo', '--steps', '12', '--store', store.dir], {
      out: (l) => out.push(l),
      err: () => {}
    })
    expect(code, out.join('\n')).toBe(0)
    expect(out.join('\n')).toMatch(/held-out loss \(lower is better\)\s+[\d.]+\s+[\d.]+\s+fine-tuned/)

    const db = openStore(store.dir)
    try {
      const dataset = db.datasets.list().find((d) => d.name === DEMO_DATASET)!
      expect(dataset.latestVersion).toMatchObject({ version: 1, sampleCount: 352 })
      const [model] = db.models.list()
      expect(model).toMatchObject({ name: 'stories260K', architecture: 'LlamaForCausalLM' })
      const [run] = db.runs.list({ limit: 10, offset: 0 })
      expect(run).toMatchObject({
        status: 'completed',
        recipe: 'sft',
        baseModelId: model.id,
        datasetVersionId: dataset.latestVersion!.id
      })
      const detail = db.runs.get(run.id)!
      expect(detail.config).toMatchObject({
        adapter: { kind: 'lora', r: 16 },
        baseModelHash: model.contentHash
      })
      expect(detail.checkpoints.map((c) => c.step)).toContain(12)
      const losses = db.runs.metrics(run.id, { name: 'loss' })
      expect(losses.map((p) => p.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))

      // The base model and the run's last checkpoint, on the story-requests task with the chat template.
      const lastCheckpoint = detail.checkpoints.find((c) => c.step === 12)!
      const evaluations = db.evaluations.list({ limit: 10, offset: 0 })
      expect(evaluations).toHaveLength(2)
      const base = db.evaluations.get(evaluations.find((e) => e.baseModelId === model.id)!.id)!
      const tuned = db.evaluations.get(evaluations.find((e) => e.checkpointId === lastCheckpoint.id)!.id)!
      for (const evaluation of [base, tuned]) {
        expect(evaluation).toMatchObject({ task: 'story-requests', status: 'completed', itemCount: 32 })
        expect(evaluation.settings).toMatchObject({ applyChatTemplate: true, limit: null })
      }
      expect(tuned.runId).toBe(run.id)

      // The two prompts shown wait in the arena, unvoted, answered by those two.
      const battles = db.arena.list({ limit: 10, offset: 0 })
      expect(battles.map((b) => b.prompt).sort()).toEqual([
        'Tell me a story about Lily the fish.',
        'Tell me a story about Tom the fox.'
      ])
      for (const battle of battles) {
        expect(battle.vote).toBeNull()
        expect([battle.a.key, battle.b.key]).toEqual([`base:${model.id}`, `checkpoint:${lastCheckpoint.id}`])
      }
      checkpointId = lastCheckpoint.id
      runId = run.id
    } finally {
      db.close()
    }
    // The whole demo: about half a minute on two idle cores, more when other test files share them.
  }, 180_000)

  it("a second demo adds a run to the same store instead of failing, and reuses the base model's evaluation", async () => {
    const again: string[] = []
    const code = await runCli(['demo', '--steps', '2', '--store', store.dir], {
      out: (l) => again.push(l),
      err: () => {}
    })
    expect(code, again.join('\n')).toBe(0)
    expect(again.join('\n')).toMatch(/^evaluation time +reused +\d+:\d\d$/m)
    const reopened = openStore(store.dir)
    expect(reopened.runs.list({ limit: 10, offset: 0 })).toHaveLength(2)
    expect(reopened.datasets.list()).toHaveLength(1)
    expect(reopened.evaluations.list({ limit: 10, offset: 0 })).toHaveLength(3)
    reopened.close()
  })

  it('eval --checkpoint evaluates a stored checkpoint (here: reuses the demo’s), and eval matrix --run shows it', async () => {
    const { code, out, err } = await runCaptured([
      'eval',
      '--checkpoint',
      String(checkpointId),
      '--task',
      'story-requests',
      '--apply-chat-template',
      '--store',
      store.dir
    ])
    expect(code, err).toBe(0)
    expect(err).toMatch(/^reusing evaluation \d+/)
    expect(out.split('\n')[0]).toMatch(
      /^evaluation \d+: demo: LoRA SFT of stories260K @ step 12 on story-requests, 32 documents, chat template$/
    )
    const matrix = JSON.parse(
      (await runCaptured(['eval', 'matrix', '--run', String(runId), '--json', '--store', store.dir])).out
    ) as EvalMatrix
    expect(matrix.rows.map((row) => row.checkpointId)).toEqual([checkpointId])
    expect(matrix.series).toEqual([
      expect.objectContaining({ task: 'story-requests', points: [expect.objectContaining({ step: 12 })] })
    ])
  })
})
