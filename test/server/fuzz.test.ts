/**
 * A request fuzzer: malformed targets, cookies, headers, bodies and WebSocket frames, without the
 * token and with it, fixed and generated from a seed. Every one must get an answer (a status below
 * 500, or a reply frame or a close on a socket), and the server must still serve a valid call after
 * them all. A crash shows as an uncaught exception or unhandled rejection, which fails the run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type WebSocket from 'ws'
import { TOKEN_COOKIE } from '../../src-main/server/auth'
import { seededRandom } from '../helpers/random'
import {
  httpRequest,
  openedSocket,
  rawRequest,
  replyOrClose,
  startTestServer,
  systemInfoStatus,
  type TestServer
} from './helpers'

const SEED = 11

interface FuzzCase {
  label: string
  request: Buffer
  /** The body is cut short: the client half-closes, and a close without an answer is fine. */
  truncated?: boolean
}

const TARGETS = [
  '/',
  '//',
  '///',
  '/%',
  '/%E0',
  '/%E0%A4%A',
  '/%00',
  '/..',
  '/../../etc/passwd',
  '/..%2f..%2fetc%2fpasswd',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/index.html/..',
  '/assets/',
  '/api',
  '/api/call',
  '/api/call/',
  '/api/call/%E0',
  '/api/call/%',
  '/api/call/..%2f..%2fsystem.info',
  '/api/call/system.info/../x',
  '/api/ws',
  '/api/upload',
  '/api/upload?name=%E0',
  '/?token=%E0',
  '/?token=',
  `/?token=${'x'.repeat(5000)}`,
  `/${'a'.repeat(4000)}`,
  `/${'a'.repeat(20_000)}`,
  '*',
  'http://evil.example/',
  'evil',
  '/\u00e9',
  '/\0',
  '/a b',
  '/\t'
]

const BODIES: (string | Buffer)[] = [
  '',
  '{',
  'null',
  '[]',
  '"x"',
  '5',
  'true',
  '{"name": 5}',
  '{"name": "fuzzed"}',
  '{"__proto__": {"polluted": 1}}',
  '['.repeat(10_000),
  Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
  '\ufeff{}',
  'x'.repeat(17 << 20)
]

const CALLS = ['system.info', 'datasets.create', 'datasets.samples', 'nope.nothing']

/** Header sets that are wrong in one way each; `auth` is the valid token's, when the case has it. */
function headerVariants(host: string, token: string): [string, string][][] {
  return [
    [['Host', host]],
    [],
    [['Host', `evil.example:${host.split(':')[1]}`]],
    [['Host', '[::1']],
    [
      ['Host', host],
      ['Host', 'evil.example']
    ],
    [
      ['Host', host],
      ['Authorization', 'Bearer']
    ],
    [
      ['Host', host],
      ['Authorization', `Bearer ${'x'.repeat(10_000)}`]
    ],
    [
      ['Host', host],
      ['Authorization', 'Basic Zm9vOmJhcg==']
    ],
    [
      ['Host', host],
      ['Authorization', 'Bearer nope'],
      ['Authorization', `Bearer ${token}`]
    ],
    [
      ['Host', host],
      ['Cookie', `${TOKEN_COOKIE}=%E0%A4%A`]
    ],
    [
      ['Host', host],
      ['Cookie', `${TOKEN_COOKIE}=${token}; ${TOKEN_COOKIE}=%E0`]
    ],
    [
      ['Host', host],
      ['Cookie', '=;;;=; ;fs_token']
    ],
    [
      ['Host', host],
      ['Cookie', `${TOKEN_COOKIE}=${'y'.repeat(8000)}`]
    ],
    [
      ['Host', host],
      ['Origin', 'null']
    ],
    [
      ['Host', host],
      ['Origin', 'not a url']
    ],
    [
      ['Host', host],
      ['Origin', `http://${host}`],
      ['Origin', 'http://evil.example']
    ],
    [
      ['Host', host],
      ['Sec-Fetch-Site', 'same-origin'],
      ['Sec-Fetch-Site', 'cross-site']
    ],
    [
      ['Host', host],
      ['X-Padding', 'p'.repeat(20_000)]
    ],
    [
      ['Host', host],
      ['Content-Length', '-1']
    ],
    [
      ['Host', host],
      ['Content-Length', 'abc']
    ],
    [
      ['Host', host],
      ['Content-Length', '99999999999999999999999']
    ],
    [
      ['Host', host],
      ['Content-Length', '2'],
      ['Transfer-Encoding', 'chunked']
    ],
    [
      ['Host', host],
      ['Transfer-Encoding', 'gzip']
    ],
    [
      ['Host', host],
      ['Expect', '100-continue']
    ],
    [
      ['Host', host],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade']
    ],
    [
      ['Host', host],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Version', '13'],
      ['Sec-WebSocket-Key', 'not base64!']
    ],
    [
      ['Host', host],
      ['Content-Type', 'application/json; charset=utf-16']
    ],
    [
      ['Host', host],
      ['Content-Type', 'application/json, text/plain']
    ]
  ]
}

function fixedCases(t: TestServer, withToken: boolean): FuzzCase[] {
  const auth: [string, string][] = withToken ? [['Authorization', `Bearer ${t.server.token}`]] : []
  const host: [string, string] = ['Host', t.host]
  const json: [string, string] = ['Content-Type', 'application/json']
  const who = withToken ? 'with token' : 'without token'
  const cases: FuzzCase[] = []
  for (const target of TARGETS) {
    for (const method of ['GET', 'POST']) {
      cases.push({
        label: `${who}: ${method} ${JSON.stringify(target.slice(0, 40))}`,
        request: httpRequest(method, target, [host, ...auth, json], method === 'POST' ? '{}' : '')
      })
    }
  }
  for (const method of ['PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'BREW', 'get', 'CONNECT']) {
    for (const target of ['/', '/api/call/system.info', '/api/upload']) {
      cases.push({
        label: `${who}: ${method} ${target}`,
        request: httpRequest(method, target, [host, ...auth])
      })
    }
  }
  for (const [i, headers] of headerVariants(t.host, t.server.token).entries()) {
    for (const target of ['/', '/api/call/system.info', '/api/upload?name=x.jsonl', '/api/ws']) {
      cases.push({
        label: `${who}: header set ${i} on POST ${target}`,
        request: httpRequest('POST', target, [...headers, ...auth, json], '{}')
      })
    }
  }
  for (const body of BODIES) {
    for (const call of CALLS) {
      cases.push({
        label: `${who}: ${call} with body ${JSON.stringify(body.toString().slice(0, 30))}`,
        request: httpRequest('POST', `/api/call/${call}`, [host, ...auth, json], body)
      })
    }
    cases.push({
      label: `${who}: upload of ${JSON.stringify(body.toString().slice(0, 30))}`,
      request: httpRequest(
        'POST',
        '/api/upload?name=f.jsonl',
        [host, ...auth, ['X-Finetune-Studio', 'upload']],
        body
      )
    })
  }
  for (const target of ['/api/call/datasets.create', '/api/upload?name=cut.jsonl']) {
    cases.push({
      label: `${who}: body cut short on ${target}`,
      request: httpRequest(
        'POST',
        target,
        [host, ...auth, json, ['X-Finetune-Studio', 'upload'], ['Content-Length', '100']],
        '{"name": "cut'
      ),
      truncated: true
    })
  }
  return cases
}

/** Requests put together at random from pieces, most of them wrong; the same ones on every run. */
function generatedCases(t: TestServer, count: number): FuzzCase[] {
  const random = seededRandom(SEED)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]
  const pieces = [
    '/',
    '%',
    'E0',
    '%2e',
    '..',
    'api',
    'call',
    'upload',
    'ws',
    '?',
    '&',
    '=',
    'token',
    '#',
    'ä',
    '\\'
  ]
  const headerPool: [string, string][] = [
    ['Host', t.host],
    ['Host', t.host],
    ['Host', 'evil.example'],
    ['Authorization', `Bearer ${t.server.token}`],
    ['Authorization', 'Bearer x'],
    ['Cookie', `${TOKEN_COOKIE}=${t.server.token}`],
    ['Cookie', `${TOKEN_COOKIE}=%E0%A4%A`],
    ['Content-Type', 'application/json'],
    ['Content-Type', 'text/plain'],
    ['Origin', t.server.origin],
    ['Origin', 'http://evil.example'],
    ['Sec-Fetch-Site', 'cross-site'],
    ['Sec-Fetch-Site', 'same-origin'],
    ['X-Finetune-Studio', 'upload']
  ]
  const bodies = ['', '{}', 'null', '[1,2]', '{"name":"g"}', '{"name":', '\u0000\u0001', '{"input":{"x":[]}}']
  const cases: FuzzCase[] = []
  for (let i = 0; i < count; i++) {
    let target = ''
    const length = 1 + Math.floor(random() * 8)
    for (let j = 0; j < length; j++) target += pick(pieces)
    if (random() < 0.8) target = `/${target}`
    const headers = headerPool.filter(() => random() < 0.4)
    const method = pick(['GET', 'POST', 'POST', 'PUT', 'HEAD'])
    const body = method === 'POST' ? pick(bodies) : ''
    cases.push({
      label: `generated #${i}: ${method} ${JSON.stringify(target)}`,
      request: httpRequest(method, target, headers, body)
    })
  }
  return cases
}

/** Frames that are not valid requests, each on a socket of its own (some must close it). */
function frames(): { label: string; data: string | Buffer; binary?: boolean }[] {
  const random = seededRandom(SEED + 1)
  const alphabet = '{}[]":,0123456789.-eE truefalsn\\u'
  const generated = Array.from({ length: 40 }, (_, i) => {
    const length = Math.floor(random() * 40)
    let text = ''
    for (let j = 0; j < length; j++) text += alphabet[Math.floor(random() * alphabet.length)]
    return { label: `generated frame #${i}`, data: text }
  })
  const texts = [
    'null',
    '[]',
    '"x"',
    '5',
    'true',
    '{}',
    '{"call": 5}',
    '{"call": null}',
    '{"call": "nope"}',
    '{"call": "__proto__"}',
    '{"call": "constructor"}',
    '{"id": {}, "call": "system.info"}',
    '{"id": 1, "call": "datasets.create", "input": null}',
    '{"id": 2, "call": "datasets.create", "input": []}',
    '{"id": 3, "call": "system.info", "input": "x"}',
    '{',
    '',
    ' ',
    '\u0000',
    'x'.repeat(1000),
    '['.repeat(5000),
    'x'.repeat(17 << 20)
  ]
  return [
    ...texts.map((data) => ({ label: `text frame ${JSON.stringify(data.slice(0, 30))}`, data })),
    { label: 'binary frame', data: Buffer.from([1, 2, 3]), binary: true },
    { label: 'binary JSON frame', data: Buffer.from('{"id":1,"call":"system.info"}'), binary: true },
    { label: 'text frame of invalid UTF-8', data: Buffer.from([0x22, 0xc3, 0x28, 0x22]), binary: false },
    ...generated
  ]
}

describe('request fuzzer', () => {
  let t: TestServer

  beforeAll(async () => {
    t = await startTestServer()
  })

  afterAll(() => t.close())

  it('answers every malformed HTTP request, without the token and with it, below 500', async () => {
    const cases = [...fixedCases(t, false), ...fixedCases(t, true), ...generatedCases(t, 200)]
    const unanswered: string[] = []
    for (const fuzz of cases) {
      const response = await rawRequest(t.server.port, fuzz.request, { halfClose: fuzz.truncated })
      const answered = response.status !== null ? response.status < 500 : fuzz.truncated === true
      if (!answered) unanswered.push(`${fuzz.label}: ${response.status ?? 'no answer'}`)
    }
    expect(unanswered).toEqual([])
    expect(await systemInfoStatus(t.server)).toBe(200)
  })

  it('answers or closes on every malformed WebSocket frame, and a fresh socket still serves calls', async () => {
    const url = `${t.wsUrl}?token=${t.server.token}`
    const misanswered: string[] = []
    for (const frame of frames()) {
      const ws: WebSocket = await openedSocket(url)
      const answer = replyOrClose(ws)
      ws.send(frame.data, { binary: frame.binary ?? typeof frame.data !== 'string' })
      const outcome = await answer
      if ('reply' in outcome) {
        const error = outcome.reply.error as { code?: string } | undefined
        if (typeof outcome.reply.ok !== 'boolean' || error?.code === 'internal')
          misanswered.push(`${frame.label}: ${JSON.stringify(outcome.reply).slice(0, 200)}`)
      }
      ws.terminate()
    }
    expect(misanswered).toEqual([])
    const ws = await openedSocket(url)
    const reply = replyOrClose(ws)
    ws.send(JSON.stringify({ id: 1, call: 'system.info', input: {} }))
    expect(await reply).toMatchObject({ reply: { id: 1, ok: true } })
    ws.close()
    expect(await systemInfoStatus(t.server)).toBe(200)
  })
})
