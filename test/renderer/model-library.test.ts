/** The models store's discovery, model page and removal, against a scripted preload bridge. */
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import type { DiscoveredModel, ModelDetail } from '../../src-preload/contract'
import { useModelsStore } from '../../src-renderer/src/stores/models'
import { useToastStore } from '../../src-renderer/src/stores/toasts'
import { modelListing } from './replies'
import { installScriptedBridge, ok, settle } from './scripted-bridge'

const bridge = installScriptedBridge()

function discovered(path: string, extra: Partial<DiscoveredModel> = {}): DiscoveredModel {
  return {
    name: 'acme/tiny@abcdef0',
    path,
    source: { kind: 'hf-cache', repoId: 'acme/tiny', revision: 'abcdef0123', current: true },
    architecture: 'LlamaForCausalLM',
    parameterCount: 260_032,
    dtype: 'F32',
    sizeBytes: 1_056_776,
    trainsHere: true,
    problems: [],
    registeredModelId: null,
    ...extra
  }
}

function detailOf(id: number, listed = true): ModelDetail {
  return {
    model: modelListing({ id, path: '/hub/snap' }),
    listed,
    validation: {
      path: '/hub/snap',
      ok: true,
      architecture: 'LlamaForCausalLM',
      parameterCount: 260_032,
      dtype: 'F32',
      maxPositionEmbeddings: 512,
      hasTokenizer: true,
      chatTemplate: 'fallback',
      errors: [],
      warnings: []
    },
    sizeBytes: 1_056_776,
    tokenizerKind: 'BPE',
    chatTemplate: null,
    source: { kind: 'hf-cache', repoId: 'acme/tiny', revision: 'abcdef0123', current: true },
    runs: [{ id: 4, name: 'run 4', status: 'completed', createdAt: '2026-01-01T00:00:00.000Z' }],
    evaluations: []
  }
}

beforeEach(() => {
  setActivePinia(createPinia())
  bridge.reset()
})

describe('useModelsStore: models users already have', () => {
  it('marks a discovered model registered once the list holds its path, without scanning again', async () => {
    let listed = false
    let scans = 0
    bridge.handle('models.list', () => ok(listed ? [modelListing({ id: 9, path: '/hub/snap' })] : []))
    bridge.handle('models.discover', () => {
      scans++
      return ok({
        roots: [{ path: '/hub', kind: 'hf-cache', exists: true }],
        models: [discovered('/hub/snap')],
        skipped: []
      })
    })
    const store = useModelsStore()
    await store.load()
    await store.discover()
    expect(store.discovered.map((m) => m.registeredModelId)).toEqual([null])
    listed = true
    await store.load()
    expect(store.discovered.map((m) => m.registeredModelId)).toEqual([9])
    expect(scans).toBe(1)
  })

  it('adds and removes watched folders, scanning again each time; a refused folder is a toast', async () => {
    const folders: string[] = []
    let scans = 0
    bridge.handle('models.addFolder', ({ path }) => {
      if (path === '/nowhere')
        return {
          ok: false,
          error: { code: 'invalid_input', message: 'models.addFolder: /nowhere is not a folder' }
        }
      folders.push(path)
      return ok([...folders])
    })
    bridge.handle('models.removeFolder', () => ok(folders.splice(0)))
    bridge.handle('models.discover', () => {
      scans++
      return ok({ roots: [], models: [], skipped: [] })
    })
    const store = useModelsStore()
    expect(await store.addFolder('/models')).toBe(true)
    expect(store.watchedFolders).toEqual(['/models'])
    expect(await store.addFolder('/nowhere')).toBe(false)
    expect(useToastStore().toasts.map((t) => t.message)).toEqual([
      'models.addFolder: /nowhere is not a folder'
    ])
    await store.removeFolder('/models')
    expect(scans).toBe(2)
  })

  it('opens a model page, keeps the latest of two opened quickly, and reloads it after removal', async () => {
    let removed = false
    bridge.handle('models.list', () => ok(removed ? [] : [modelListing({ id: 1 }), modelListing({ id: 2 })]))
    // Model 1's page answers only after model 2's: the page opened last must stay.
    let releaseFirst = (): void => {}
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve))
    bridge.handle('models.detail', async ({ id }) => {
      if (id === 1) await firstHeld
      return ok(detailOf(id, !removed))
    })
    bridge.handle('models.remove', ({ id }) => {
      removed = true
      return ok({ id })
    })
    const store = useModelsStore()
    await store.load()
    const first = store.openDetail(1)
    await store.openDetail(2)
    releaseFirst()
    await first
    expect(store.detail?.model.id).toBe(2)

    expect(await store.remove(2)).toBe(true)
    await settle()
    expect(store.models.map((m) => m.id)).toEqual([1])
    expect(store.detail).toMatchObject({ listed: false, runs: [{ id: 4 }] })
    await store.openDetail(null)
    expect(store.detail).toBeNull()
  })

  it('keeps a model listed when removal is refused, and says why', async () => {
    bridge.handle('models.list', () => ok([modelListing({ id: 1 })]))
    bridge.handle('models.remove', () => ({
      ok: false,
      error: {
        code: 'conflict',
        message:
          'models.remove: base model 1 is used by run 3 "r" (queued); wait for them to finish or cancel them first'
      }
    }))
    const store = useModelsStore()
    await store.load()
    expect(await store.remove(1)).toBe(false)
    expect(store.models.map((m) => m.id)).toEqual([1])
    expect(useToastStore().toasts[0].message).toContain('is used by run 3')
  })
})
