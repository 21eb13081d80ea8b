/**
 * The OpenAI-compatible endpoint against what no well-behaved client sends, over raw HTTP: every
 * refusal in OpenAI's error shape with its status, and the server still answering afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpRequest, rawRequest, startTestServer, systemInfoStatus, type TestServer } from './helpers'

interface OpenAiRefusal {
  error: { message: string; type: string; param: string | null; code: string | null }
}

/** The JSON body of a raw response, sent whole or as one chunk (its size line aside). */
function bodyOf(text: string): OpenAiRefusal {
  const body = text.slice(text.indexOf('\r\n\r\n') + 4)
  return JSON.parse(body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1)) as OpenAiRefusal
}

describe('OpenAI-compatible endpoint, hostile input', () => {
  let studio: TestServer
  let headers: Record<string, string>

  beforeAll(async () => {
    studio = await startTestServer()
    headers = {
      Host: studio.host,
      Authorization: `Bearer ${studio.server.token}`,
      'Content-Type': 'application/json'
    }
  })

  afterAll(() => studio.close())

  async function post(
    path: string,
    body: string | Buffer,
    extra: Record<string, string> = {}
  ): Promise<{ status: number | null; refusal: OpenAiRefusal }> {
    const { status, text } = await rawRequest(
      studio.server.port,
      httpRequest('POST', path, { ...headers, ...extra }, body)
    )
    return { status, refusal: bodyOf(text) }
  }

  it('refuses a body declared larger than the limit before reading it, with 413', async () => {
    const { status, text } = await rawRequest(
      studio.server.port,
      httpRequest('POST', '/v1/chat/completions', { ...headers, 'Content-Length': String(64 << 20) }, '{"mo'),
      { halfClose: true }
    )
    expect(status).toBe(413)
    expect(bodyOf(text).error).toMatchObject({ type: 'invalid_request_error', param: null })
    expect(bodyOf(text).error.message).toMatch(/larger than/)
  })

  it('refuses a chunked body once it passes the limit, with 413', async () => {
    const huge = Buffer.alloc(17 << 20, 'a')
    const chunked = Buffer.concat([
      Buffer.from(`${huge.length.toString(16)}\r\n`),
      huge,
      Buffer.from('\r\n0\r\n\r\n')
    ])
    const { status, refusal } = await post('/v1/completions', chunked, { 'Transfer-Encoding': 'chunked' })
    expect(status).toBe(413)
    expect(refusal.error.type).toBe('invalid_request_error')
  })

  it('refuses malformed JSON and JSON that is not an object, with 400', async () => {
    const malformed = await post('/v1/chat/completions', '{"model": "stories260K", "messages": [')
    expect(malformed.status).toBe(400)
    expect(malformed.refusal.error.message).toMatch(/not valid JSON/)
    for (const body of ['[1, 2]', '"text"', 'null', '{}']) {
      const { status, refusal } = await post('/v1/completions', body)
      expect(status, body).toBe(400)
      expect(refusal.error.type).toBe('invalid_request_error')
    }
    const noModel = await post('/v1/completions', '{"prompt": "hi"}')
    expect(noModel.refusal.error.param).toBe('model')
  })

  it('refuses a body that is not JSON by its content type, with 415', async () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x'
    ]) {
      const { status, refusal } = await post('/v1/chat/completions', '{"model": "x"}', {
        'Content-Type': type
      })
      expect(status, type).toBe(415)
      expect(refusal.error.message).toMatch(/application\/json/)
    }
  })

  it('refuses requests without the key, from another origin, or to a name that is not ours', async () => {
    const noKey = await rawRequest(
      studio.server.port,
      httpRequest('GET', '/v1/models', { Host: studio.host })
    )
    expect(noKey.status).toBe(401)
    expect(noKey.text).toMatch(/www-authenticate: Bearer/i)
    expect(bodyOf(noKey.text).error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' })

    const page = await post('/v1/chat/completions', '{}', { Origin: 'http://evil.example' })
    expect(page.status).toBe(403)
    expect(page.refusal.error.type).toBe('permission_error')

    const rebound = await rawRequest(
      studio.server.port,
      httpRequest('GET', '/v1/models', { ...headers, Host: `evil.example:${studio.server.port}` })
    )
    expect(rebound.status).toBe(403)
  })

  it('answers unknown paths with 404, wrong methods with 405, and bad escapes with 400', async () => {
    const get = (path: string) => rawRequest(studio.server.port, httpRequest('GET', path, headers))
    const unknown = await get('/v1/embeddings')
    expect(unknown.status).toBe(404)
    expect(bodyOf(unknown.text).error.type).toBe('not_found_error')
    const wrongMethod = await get('/v1/chat/completions')
    expect(wrongMethod.status).toBe(405)
    expect(wrongMethod.text).toMatch(/allow: POST/i)
    expect((await post('/v1/models', '{}')).status).toBe(405)
    expect((await get('/v1/models/%E0%A4%A')).status).toBe(400)
  })

  it('is still up, having logged no failure of its own', async () => {
    expect(await systemInfoStatus(studio.server)).toBe(200)
    expect(studio.logs.filter((line) => line.startsWith('error'))).toEqual([])
  })
})
