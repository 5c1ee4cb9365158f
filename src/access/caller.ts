/**
 * Who is asking: every request has a caller (`request.caller`, set by
 * `src/plugins/access.ts`) — a server-side client presenting one of the operator's
 * gateway tokens, or an anonymous caller (a browser) known only by its IP.
 *
 * Anonymous callers are grouped by network: an IPv4 address on its own, an IPv6
 * address by its /64 (one subscriber's prefix: rotating addresses inside it changes
 * nothing). Per-caller state (allowances, idempotency scopes) is keyed by
 * {@link callerId}.
 */
import { isIPv4, isIPv6 } from 'node:net'

/** A client holding one of the operator's gateway tokens. */
export interface TokenCaller {
  kind: 'token'
  /** The token entry's name (several tokens may share one during a rotation). */
  name: string
  /** Upstream calls this client may cause per rolling 24 h. */
  allowance: number
  /** Routes it may call, as `METHOD /url` patterns (`*` at the end matches anything). */
  routes: readonly string[]
}

/** A caller without credentials. */
export interface AnonymousCaller {
  kind: 'anonymous'
  /** The client IP as Fastify sees it (honouring `TRUST_PROXY` only). */
  ip: string
}

export type Caller = TokenCaller | AnonymousCaller

/** The network an address belongs to for per-client accounting: IPv4 itself, IPv6 its /64. */
export function networkOf (ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped !== null) return mapped[1] as string
  if (isIPv4(ip) || !isIPv6(ip)) return ip
  const [head = '', tail = ''] = ip.toLowerCase().split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === '' ? [] : tail.split(':')
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`
}

/** A stable key for per-caller state: `token:<name>` or `ip:<network>`. */
export function callerId (caller: Caller): string {
  return caller.kind === 'token' ? `token:${caller.name}` : `ip:${networkOf(caller.ip)}`
}
