import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../../src-main/cli/index'
import { DEMO_DATASET } from '../../src-main/cli/commands/demo'
import { openStore } from '../../src-main/store'
import { tempDir } from '../helpers/temp'

describe('finetune-studio demo (reduced: 12 steps)', () => {
  const store = tempDir()
  afterAll(() => store.cleanup())

  it('records the whole lineage and the fine-tuned model beats the base on held-out loss', async () => {
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

      const evaluations = db.evaluations.list({ limit: 10, offset: 0 })
      const base = evaluations.find((e) => e.baseModelId === model.id)!
      const tuned = evaluations.find((e) => e.runId === run.id)!
      expect(db.evaluations.results(base.id)).toHaveLength(32)
      expect(db.evaluations.results(tuned.id)).toHaveLength(32)
      expect(tuned.metrics.held_out_loss).toBeLessThan(base.metrics.held_out_loss)
      expect(db.evaluations.listComparisons({ limit: 10, offset: 0 })).toHaveLength(2)
    } finally {
      db.close()
    }

    // A second demo adds a run to the same store instead of failing.
    const again = await runCli(['demo', '--steps', '2', '--store', store.dir], {
      out: () => {},
      err: () => {}
    })
    expect(again).toBe(0)
    const reopened = openStore(store.dir)
    expect(reopened.runs.list({ limit: 10, offset: 0 })).toHaveLength(2)
    expect(reopened.datasets.list()).toHaveLength(1)
    reopened.close()
  })
})
