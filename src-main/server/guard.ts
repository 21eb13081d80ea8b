/**
 * What keeps other web pages from driving the API through the user's browser. The token alone does
 * not: the browser attaches our cookie to requests that any page makes.
 *
 * Cross-site request forgery. A page on another origin, including one on another port of this very
 * host (which SameSite cookies do not tell apart), can make the browser send us requests, but only
 * "simple" ones unless we grant a CORS preflight, which we never do. So whatever acts needs something
 * a simple request cannot carry: `Content-Type: application/json` for API calls, an
 * `X-Finetune-Studio` header for uploads. Where the browser says where a request comes from, that
 * must be us: `Origin` equal to the origin the request was sent to, `Sec-Fetch-Site` same-origin (or
 * none: the user typed the address). Clients that are not browsers (curl, scripts) send neither.
 *
 * DNS rebinding. A page on evil.example can have its name resolve to 127.0.0.1 and so become
 * same-origin with us; its requests then say `Host: evil.example:PORT`. So every request's Host must
 * name this server in a way no third party can redirect:
 * - an IP literal (127.0.0.1, 192.168.1.5, [::1]): a browser sends one only for a page it loaded from
 *   that very address, and an address cannot be rebound. Any address is accepted, not just the one we
 *   bound: behind a port forward, a NAT or `--host 0.0.0.0` the browser knows us by another one;
 * - `localhost`: browsers resolve it to the loopback themselves, never through DNS;
 * - the name the server was told to bind (`--host gpu.lan`): the user chose it;
 * - nothing else: any other name is what rebinding looks like.
 * The port in Host is not checked: through `ssh -L 9000:localhost:7860` the browser names its own
 * local port, and a rebinding page gets nowhere whatever port it names.
 */
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import { HttpError } from './respond'

/** The header (and value) the UI sends with uploads; a page on another site cannot set it. */
const UPLOAD_HEADER = 'x-finetune-studio'
const UPLOAD_HEADER_VALUE = 'upload'

interface HostParts {
  /** Lower case; an IPv6 address keeps its brackets, as in a URL. */
  hostname: string
  port: string | null
}

/** `name[:port]` or `[v6]:port` and nothing else: no user info, path or stray characters. */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/

function parseHost(header: string | undefined): HostParts | null {
  const match = HOST_HEADER.exec((header ?? '').toLowerCase())
  return match ? { hostname: match[1], port: match[2] ?? null } : null
}

function isIpLiteral(hostname: string): boolean {
  return isIP(hostname.replace(/^\[(.*)\]$/, '$1')) !== 0
}

/** The names besides IP literals that a server bound to `boundHost` answers to. */
export function hostNamesFor(boundHost: string): Set<string> {
  return new Set(['localhost', boundHost.toLowerCase()])
}

/** Refuses a request whose Host a third party could have pointed at us (see the rule above). */
export function requireOwnHost(req: IncomingMessage, names: ReadonlySet<string>): void {
  const host = parseHost(req.headers.host)
  if (host && (isIpLiteral(host.hostname) || names.has(host.hostname))) return
  throw new HttpError(
    403,
    'unauthorized',
    `Host ${JSON.stringify(req.headers.host ?? '')} is not a name of this server: ` +
      'open it by its IP address or localhost (or start it with --host NAME)'
  )
}

/**
 * Whether an Origin names the host and port the request was sent to. A port left out means the
 * scheme's default, in the Origin and in Host alike (behind a TLS proxy: `https://gpu.example`).
 */
function originMatchesHost(origin: string, hostHeader: string | undefined): boolean {
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  const host = parseHost(hostHeader)
  const defaultPort = url.protocol === 'https:' ? '443' : '80'
  return (
    host !== null &&
    url.hostname === host.hostname &&
    (url.port || defaultPort) === (host.port ?? defaultPort)
  )
}

/** Refuses a request that a browser says comes from a page that is not ours. */
export function requireSameOrigin(req: IncomingMessage, what: string): void {
  const origin = req.headers.origin
  if (origin !== undefined && !originMatchesHost(origin, req.headers.host)) {
    throw new HttpError(
      403,
      'unauthorized',
      `${what}: refused a request from ${origin}, which is not this server`
    )
  }
  const site = req.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new HttpError(
      403,
      'unauthorized',
      `${what}: refused a request the browser marks Sec-Fetch-Site: ${site}; only this server's own page may call it`
    )
  }
}

/** A JSON content type forces a preflight on any cross-origin page, which we never grant. */
export function requireJsonBody(req: IncomingMessage, what: string): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  if (type !== 'application/json') {
    throw new HttpError(
      415,
      'invalid_input',
      `${what}: send the input as JSON with Content-Type: application/json (got ${JSON.stringify(type || 'none')})`
    )
  }
}

/** Uploads are not JSON; the custom header does for them what the JSON content type does for calls. */
export function requireUploadHeader(req: IncomingMessage, what: string): void {
  if (req.headers[UPLOAD_HEADER] !== UPLOAD_HEADER_VALUE) {
    throw new HttpError(
      403,
      'unauthorized',
      `${what}: uploads must carry the header ${UPLOAD_HEADER}: ${UPLOAD_HEADER_VALUE}`
    )
  }
}
