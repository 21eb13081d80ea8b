/**
 * Renderer stores and the IPC transport, without a DOM: `window.finetuneStudio` is a scripted
 * preload bridge, so `useApi()` takes the Electron path and every store talks to it.
 */
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { SystemInfo } from '../../src-preload/contract'
import {
  ApiError,
  createIpcClient,
  reconnectDelayMs,
  socketUrl,
  takeAccessToken
} from '../../src-renderer/src/api'
import { useModelsStore } from '../../src-renderer/src/stores/models'
import { TOAST_LIFETIME_MS, useToastStore } from '../../src-renderer/src/stores/toasts'
import { modelListing } from './replies'
import { installScriptedBridge, ok, ScriptedBridge, settle } from './scripted-bridge'

const bridge = installScriptedBridge()

const tinyModel = modelListing({ id: 1 })

const systemInfo: SystemInfo = {
  product: 'Finetune Studio',
  version: '0.1.0',
  storePath: '/home/me/.finetune-studio',
  defaultModelPath: null,
  engine: { device: 'cpu', cudaAvailable: false, onnxruntimeVersion: '1.30.0' },
  node: '22.0.0',
  platform: 'linux',
  transport: 'ipc'
}

beforeEach(() => {
  setActivePinia(createPinia())
  bridge.reset()
})

describe('createIpcClient', () => {
  it('unwraps a successful reply and turns a failed one into an ApiError with its code and message', async () => {
    const local = new ScriptedBridge()
    local.handle('system.info', () => ok(systemInfo))
    local.handle('runs.get', () => ({
      ok: false,
      error: { code: 'not_found', message: 'run 7 does not exist' }
    }))
    const client = createIpcClient(local.asPreloadApi())

    expect(await client.call('system.info', {})).toEqual(systemInfo)
    const failure = await client.call('runs.get', { id: 7 }).catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(ApiError)
    expect(failure).toMatchObject({ code: 'not_found', message: 'run 7 does not exist' })
  })

  it('delivers pushed events to the listeners of that event only, until they unsubscribe', () => {
    const local = new ScriptedBridge()
    const client = createIpcClient(local.asPreloadApi())
    const statuses: unknown[] = []
    const logs: unknown[] = []
    const stopStatuses = client.on('run.status', (payload) => statuses.push(payload))
    client.on('job.log', (payload) => logs.push(payload))

    local.emit('run.status', { runId: 1, status: 'running', error: null })
    stopStatuses()
    local.emit('run.status', { runId: 1, status: 'completed', error: null })

    expect(statuses).toEqual([{ runId: 1, status: 'running', error: null }])
    expect(logs).toEqual([])
  })
})

describe('browser transport helpers', () => {
  it('takes the token out of the address, keeps it for the session and falls back to it later', () => {
    const stored = new Map<string, string>()
    const storage = {
      getItem: (key: string) => stored.get(key) ?? null,
      setItem: (key: string, value: string) => void stored.set(key, value)
    } as Storage
    const replaced: string[] = []
    const history = {
      state: null,
      replaceState: (_state: unknown, _unused: string, url: string) => void replaced.push(url)
    } as unknown as History

    const first = takeAccessToken(
      { href: 'http://box:7860/?token=s3cr%2Bt#/runs' } as Location,
      storage,
      history
    )
    expect(first).toBe('s3cr+t')
    expect(replaced).toEqual(['/#/runs'])

    const later = takeAccessToken({ href: 'http://box:7860/#/models' } as Location, storage, history)
    expect(later).toBe('s3cr+t')
    expect(replaced).toHaveLength(1)
  })

  it('builds the socket URL on the page host with the token, wss behind https', () => {
    expect(socketUrl({ protocol: 'http:', host: '127.0.0.1:7860' }, 'a+b')).toBe(
      'ws://127.0.0.1:7860/api/ws?token=a%2Bb'
    )
    expect(socketUrl({ protocol: 'https:', host: 'gpu.example' }, null)).toBe('wss://gpu.example/api/ws')
  })

  it('backs off reconnects by doubling, up to a ceiling', () => {
    expect([0, 1, 2, 3].map(reconnectDelayMs)).toEqual([250, 500, 1000, 2000])
    expect(reconnectDelayMs(30)).toBe(10_000)
  })
})

describe('useToastStore', () => {
  afterEach(() => vi.useRealTimers())

  it("shows an ApiError's code and message as they are, and anything else as an error", () => {
    const toasts = useToastStore()
    toasts.showError(new ApiError('invalid_input', 'models.register: /nope is not a folder'))
    toasts.showError(new Error('socket closed'))
    expect(toasts.toasts.map(({ code, message }) => ({ code, message }))).toEqual([
      { code: 'invalid_input', message: 'models.register: /nope is not a folder' },
      { code: 'error', message: 'socket closed' }
    ])
  })

  it('removes a toast when dismissed, and by itself after its lifetime', () => {
    vi.useFakeTimers()
    const toasts = useToastStore()
    toasts.showError(new ApiError('failed', 'first'))
    toasts.showError(new ApiError('failed', 'second'))
    toasts.dismiss(toasts.toasts[0].id)
    expect(toasts.toasts.map((toast) => toast.message)).toEqual(['second'])
    vi.advanceTimersByTime(TOAST_LIFETIME_MS)
    expect(toasts.toasts).toEqual([])
  })
})

describe('useModelsStore', () => {
  it('lists the model once its registration job completes, even if the job ends before the reply', async () => {
    let registered = false
    bridge.handle('models.list', () => ({ ok: true, value: registered ? [tinyModel] : [] }))
    bridge.handle('models.register', () => {
      registered = true
      bridge.emit('job.status', { jobId: 'job-1', kind: 'model.inspect', status: 'completed', error: null })
      return { ok: true, value: { jobId: 'job-1' } }
    })
    const models = useModelsStore()
    await models.load()
    expect(models.models).toEqual([])

    expect(await models.register('/models/stories260K')).toBe(true)
    await settle()

    expect(models.models).toEqual([tinyModel])
    expect(models.registrations).toEqual([])
  })

  it('shows the error of a failed registration job in a toast and lists nothing new', async () => {
    bridge.handle('models.list', () => ({ ok: true, value: [] }))
    bridge.handle('models.register', () => ({ ok: true, value: { jobId: 'job-2' } }))
    const models = useModelsStore()
    const toasts = useToastStore()

    await models.register('/models/broken')
    expect(models.registrations).toEqual([{ jobId: 'job-2', path: '/models/broken' }])
    bridge.emit('job.status', {
      jobId: 'job-2',
      kind: 'model.inspect',
      status: 'failed',
      error: 'model.inspect: /models/broken/model.safetensors: header is not JSON'
    })
    await settle()

    expect(toasts.toasts.map((toast) => toast.message)).toEqual([
      'model.inspect: /models/broken/model.safetensors: header is not JSON'
    ])
    expect(models.registrations).toEqual([])
  })

  it('shows a refused registration in a toast with the message from main', async () => {
    bridge.handle('models.register', () => ({
      ok: false,
      error: { code: 'invalid_input', message: 'models.register: /nope is not a folder' }
    }))
    const models = useModelsStore()
    const toasts = useToastStore()
    expect(await models.register('/nope')).toBe(false)
    expect(toasts.toasts.map(({ code, message }) => ({ code, message }))).toEqual([
      { code: 'invalid_input', message: 'models.register: /nope is not a folder' }
    ])
  })
})
