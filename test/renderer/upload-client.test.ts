/**
 * The browser client's upload: what the headless server requires of a request from its own page
 * (test/server/guard.test.ts refuses one without it), sent with the picked file.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createSocketClient } from '../../src-renderer/src/api'

describe('createSocketClient().fileLocation', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('posts the picked file to /api/upload with the X-Finetune-Studio header and returns the stored path', async () => {
    const requests: { url: string; init: RequestInit }[] = []
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      requests.push({ url, init })
      return new Response(
        JSON.stringify({ ok: true, value: { path: '/store/uploads/1234abcd-picked_file.jsonl' } })
      )
    })
    // The client's socket is not under test here: one that never opens.
    vi.stubGlobal(
      'WebSocket',
      class {
        static OPEN = 1
        readyState = 0
      }
    )
    const file = new File(['{"messages": []}\n'], 'picked file.jsonl')
    const path = await createSocketClient('ws://127.0.0.1:7860/api/ws').fileLocation(file)
    expect(path).toBe('/store/uploads/1234abcd-picked_file.jsonl')
    expect(requests).toHaveLength(1)
    expect(requests[0].url).toBe('/api/upload?name=picked%20file.jsonl')
    expect(requests[0].init.method).toBe('POST')
    expect(new Headers(requests[0].init.headers).get('x-finetune-studio')).toBe('upload')
    expect(requests[0].init.body).toBe(file)
  })
})
