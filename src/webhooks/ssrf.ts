/**
 * Where the gateway may send webhooks. Checked when an endpoint is registered or its
 * URL changed, and again before every attempt (a name may resolve elsewhere by then):
 *
 * - `https:` only; `http:` only for hosts of the operator's allow-list
 *   (`WEBHOOK_ALLOW_HOSTS`);
 * - no credentials in the URL;
 * - the host is resolved and *every* address must be public: loopback, unspecified,
 *   private (RFC 1918), CGNAT (100.64/10), link-local (169.254/16 — cloud metadata
 *   169.254.169.254 among them — and fe80::/10), unique-local (fc00::/7, the AWS
 *   metadata fd00:ec2::254 among them), multicast, reserved and documentation ranges,
 *   and IPv4-mapped or NAT64 forms of any of them are refused — unless the host name,
 *   or the address, is on the allow-list;
 * - the attempt connects to the address checked here (`pinnedLookup`), never to a
 *   second resolution, so DNS rebinding has no window; `Host` and TLS SNI keep the name.
 */
import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import type { LookupFunction } from 'node:net'

/** Resolves a host name to its addresses (tests inject their own). */
export type Resolver = (hostname: string) => Promise<Array<{ address: string, family: number }>>

export const systemResolver: Resolver = async (hostname) => await lookup(hostname, { all: true, verbatim: true })

/** Refused: the reason is shown to the API client. */
export class WebhookUrlError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'WebhookUrlError'
  }
}

const BLOCKED = new BlockList()
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4]
] as const) BLOCKED.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
  ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8]
] as const) BLOCKED.addSubnet(net, bits, 'ipv6')

/** The IPv4 address inside an IPv4-mapped IPv6 one (`::ffff:10.0.0.1`), if it is one. */
function mappedV4 (address: string): string | undefined {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (m !== null) return m[1]
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address)
  if (hex === null) return undefined
  const hi = parseInt(hex[1] as string, 16)
  const lo = parseInt(hex[2] as string, 16)
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
}

/** True for an address a webhook may not reach (unless allow-listed). */
export function isInternalAddress (address: string): boolean {
  const v4 = mappedV4(address)
  if (v4 !== undefined) return isInternalAddress(v4)
  const family = isIP(address)
  if (family === 0) return true
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

/** The operator's allow-list: host names, and CIDRs. */
export class AllowList {
  readonly #hosts = new Set<string>()
  readonly #nets = new BlockList()

  constructor (entries: readonly string[]) {
    for (const entry of entries) {
      const [address, bits] = entry.split('/')
      const family = isIP(address ?? '')
      if (bits !== undefined && family !== 0) this.#nets.addSubnet(address as string, Number(bits), family === 4 ? 'ipv4' : 'ipv6')
      else this.#hosts.add(entry.toLowerCase())
    }
  }

  host (hostname: string): boolean {
    return this.#hosts.has(hostname.toLowerCase())
  }

  address (address: string): boolean {
    const v4 = mappedV4(address) ?? address
    const family = isIP(v4)
    return this.#hosts.has(v4) || (family !== 0 && this.#nets.check(v4, family === 4 ? 'ipv4' : 'ipv6'))
  }
}

/** A URL checked for one attempt: where to connect. */
export interface CheckedTarget {
  url: URL
  /** The host name as in the URL, brackets removed (`Host`, SNI). */
  hostname: string
  address: string
  family: 4 | 6
}

/** Checks `raw` (see the module comment); throws {@link WebhookUrlError}. */
export async function checkWebhookUrl (raw: string, allow: AllowList, resolve: Resolver = systemResolver): Promise<CheckedTarget> {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new WebhookUrlError('not a URL')
  }
  const hostname = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  const allowedHost = allow.host(hostname)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (allowedHost || allow.address(hostname)))) {
    throw new WebhookUrlError('webhook URLs must be https: (http: only for hosts of WEBHOOK_ALLOW_HOSTS)')
  }
  if (url.username !== '' || url.password !== '') throw new WebhookUrlError('webhook URLs may not carry credentials')
  let addresses: Array<{ address: string, family: number }>
  if (isIP(hostname) !== 0) {
    addresses = [{ address: hostname, family: isIP(hostname) }]
  } else {
    try {
      addresses = await resolve(hostname)
    } catch {
      throw new WebhookUrlError(`the host ${hostname} does not resolve`)
    }
    if (addresses.length === 0) throw new WebhookUrlError(`the host ${hostname} does not resolve`)
  }
  for (const { address } of addresses) {
    if (isInternalAddress(address) && !allowedHost && !allow.address(address)) {
      throw new WebhookUrlError(`the host ${hostname} resolves to an internal address (${address}); only WEBHOOK_ALLOW_HOSTS may`)
    }
  }
  const first = addresses[0] as { address: string, family: number }
  return { url, hostname, address: first.address, family: first.family === 6 ? 6 : 4 }
}

/** A `lookup` for `http.request` that answers with the checked address, whatever is asked. */
export function pinnedLookup (target: CheckedTarget): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all === true) callback(null, [{ address: target.address, family: target.family }])
    else callback(null, target.address, target.family)
  }) as unknown as LookupFunction
}
