import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const TOKEN_COOKIE = 'fs_token'

export function newToken(): string {
  return randomBytes(24).toString('base64url')
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=')
    if (key !== name) continue
    try {
      return decodeURIComponent(rest.join('='))
    } catch {
      // Not a cookie we set (ours is plain base64url): it carries no token.
      return null
    }
  }
  return null
}

/**
 * The token a request carries, wherever it carries it: `?token=` (the printed URL),
 * `Authorization: Bearer` (scripts), or the cookie set when the page was first opened (assets and the
 * socket the page opens).
 */
export function presentedToken(req: IncomingMessage, url: URL): string | null {
  const fromQuery = url.searchParams.get('token')
  if (fromQuery) return fromQuery
  const auth = req.headers.authorization
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim()
  return cookieValue(req.headers.cookie, TOKEN_COOKIE)
}

export function tokenMatches(presented: string | null, expected: string): boolean {
  if (presented === null) return false
  const a = Buffer.from(presented)
  const b = Buffer.from(expected)
  // Constant time, so the token cannot be guessed byte by byte from response timings.
  return a.length === b.length && timingSafeEqual(a, b)
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}
