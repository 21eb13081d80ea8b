/** The run view's exports: the store over a scripted bridge, and how an export is worded. */
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import type { ExportRecord } from '../../src-preload/contract'
import { exportKind, formatBytes } from '../../src-renderer/src/components/exports/exportFormat'
import { exportDownloadUrl, exportLineage, useExportsStore } from '../../src-renderer/src/stores/exports'
import { installScriptedBridge, ok, settle } from './scripted-bridge'

const bridge = installScriptedBridge()

function exportRecord(id: number, extra: Partial<ExportRecord> = {}): ExportRecord {
  return {
    id,
    sourceKind: 'checkpoint',
    baseModelId: 3,
    runId: 1,
    checkpointId: 12,
    step: 10,
    datasetId: null,
    datasetVersionId: null,
    sourceLabel: 'sft-lora @ step 10',
    format: 'gguf',
    variant: 'Q8_0',
    path: `/store/exports/${id}/sft-lora-step-10-gguf-Q8_0.gguf`,
    inStore: true,
    bytes: null,
    status: 'running',
    error: null,
    jobId: `job-${id}`,
    createdAt: '2026-01-01T00:00:00.000Z',
    finishedAt: null,
    ...extra
  }
}

describe('how an export is worded', () => {
  it('names its kind, size and lineage, and where the served UI downloads it', () => {
    expect(exportKind(exportRecord(1))).toBe('GGUF Q8_0')
    expect(exportKind(exportRecord(1, { format: 'hf', variant: 'bfloat16' }))).toBe('HF bfloat16')
    expect(exportKind(exportRecord(1, { format: 'peft', variant: '' }))).toBe('PEFT adapter')
    expect(formatBytes(999)).toBe('999 B')
    expect(formatBytes(1_050_000)).toBe('1.05 MB')
    expect(exportLineage(exportRecord(1))).toBe('checkpoint at step 10 of run #1')
    expect(exportLineage(exportRecord(1, { runId: null }))).toBe('checkpoint at step 10 of a deleted run')
    expect(exportLineage(exportRecord(1, { sourceKind: 'run', checkpointId: null, step: null }))).toBe(
      'result of run #1'
    )
    expect(exportDownloadUrl(7)).toBe('/download/exports/7')
  })
})

describe('useExportsStore', () => {
  beforeEach(() => {
    bridge.reset()
    setActivePinia(createPinia())
  })

  it("lists a run's exports, puts a started one first and reads the list again when its job ends", async () => {
    let listed = [exportRecord(1, { status: 'completed', jobId: 'job-1' })]
    bridge.handle('exports.list', () => ok(listed))
    bridge.handle('exports.start', () => ok({ jobId: 'job-2', export: exportRecord(2) }))
    const store = useExportsStore()
    await store.load(1)
    expect(store.exports.map((e) => e.id)).toEqual([1])
    // The desktop app (the bridge is its preload) has no download route.
    expect(store.canDownload).toBe(false)

    expect(await store.start({ checkpointId: 12, format: 'gguf', ggufType: 'Q8_0' })).toBe(true)
    expect(bridge.callsOf('exports.start')).toEqual([{ checkpointId: 12, format: 'gguf', ggufType: 'Q8_0' }])
    expect(store.exports.map((e) => [e.id, e.status])).toEqual([
      [2, 'running'],
      [1, 'completed']
    ])

    listed = [exportRecord(2, { status: 'completed', bytes: 4096 }), ...listed]
    bridge.emit('job.status', {
      jobId: 'job-other',
      kind: 'engine.generate',
      status: 'completed',
      error: null
    })
    await settle()
    expect(bridge.callsOf('exports.list')).toHaveLength(1)
    bridge.emit('job.status', { jobId: 'job-2', kind: 'engine.export', status: 'completed', error: null })
    await settle()
    expect(bridge.callsOf('exports.list')).toEqual([{ runId: 1 }, { runId: 1 }])
    expect(store.exports[0]).toMatchObject({ id: 2, status: 'completed', bytes: 4096 })
  })

  it('keeps a refused export out of the list, saves a copy where asked and removes a deleted one', async () => {
    bridge.handle('exports.list', () => ok([exportRecord(1, { status: 'completed' })]))
    bridge.handle('exports.start', () => ({
      ok: false,
      error: { code: 'invalid_input', message: 'exports.start: stories260K is a whole model' }
    }))
    bridge.handle('exports.delete', () => ok({ deleted: true, filesRemoved: true }))
    const store = useExportsStore()
    await store.load(1)
    expect(await store.start({ runId: 1, format: 'peft' })).toBe(false)
    expect(store.exports).toHaveLength(1)
    bridge.handle('exports.saveCopy', ({ path }) => ok({ path, bytes: 10 }))
    expect(await store.saveCopy(1, '/home/me/m.gguf')).toBe('/home/me/m.gguf')
    expect(bridge.callsOf('exports.saveCopy')).toEqual([{ id: 1, path: '/home/me/m.gguf' }])
    await store.remove(1)
    expect(bridge.callsOf('exports.delete')).toEqual([{ id: 1 }])
    expect(store.exports).toEqual([])
  })
})
