/**
 * Typed configuration, read from the environment in one place.
 *
 * Every setting is declared once in {@link SETTINGS} with its parser, default and
 * documentation; `loadConfig` collects *all* problems before failing so an operator
 * sees every bad value at once. The README's configuration table mirrors this file.
 */

import { isIP } from 'node:net'
import { parseTokenEntries, type TokenEntry } from './access/tokens.js'

export interface Config {
  /** Base URL of SecretCryptos v1, without a trailing slash. */
  upstreamUrl: string
  /** The API key. Absent → the built-in simulator is started and used. */
  apiKey: string | undefined
  /** Partner key: the `partner` of every order created through the gateway, whatever the body says. */
  partnerKey: string | undefined
  host: string
  port: number
  /** Deadline for one upstream call (headers and body). */
  upstreamTimeoutMs: number
  /** Hard deadline of an order creation, which keeps running after its client got a 504 at `upstreamTimeoutMs`. */
  createSettleTimeoutMs: number
  /** Upper bound on concurrent connections to upstream. */
  upstreamConnections: number
  /** Lifetime of cached `GET /v1/meta*` and `/v1/prices` answers. */
  metaCacheTtlMs: number
  pricesCacheTtlMs: number
  /** Upstream daily quota per key, counted over a rolling 24 h. */
  dailyQuota: number
  /** Part of the quota kept for order creation (the `create` partition). */
  quotaReserve: number
  /** Largest accepted request body, bytes. */
  bodyLimit: number
  logLevel: string
  /** Upstream's refresh period for the poll allocator, and the shortest spacing of watch checks. */
  pollIntervalMs: number
  /** Shortest spacing of the checks of an unpaid order past its fresh address. */
  pollWaitingPaymentMs: number
  /** Longest backoff after failures; the safety check of an order nothing can change is 24 × this. */
  pollMaxIntervalMs: number
  /** How long a poller outlives its last subscriber. */
  pollerGraceMs: number
  /** Comment line sent on idle streams. */
  sseHeartbeatMs: number
  /** `retry:` hint sent to EventSource clients. */
  sseRetryMs: number
  /** How long an upstream NOT_FOUND for a trackcode is remembered. */
  notFoundCacheMs: number
  /** How long a finished (Done/Gone) order's final snapshot is kept. */
  finalCacheMs: number
  /** Requests per client IP and window on every rate-limited route (0: no limit). */
  rateLimitMax: number
  rateLimitWindowMs: number
  /** Order creations and deletions per client IP and window, on top of the general limit (0: no limit). */
  rateLimitCreateMax: number
  rateLimitCreateWindowMs: number
  /** Fastify `trustProxy`: `false`, `true`, or the proxies' addresses/CIDRs. */
  trustProxy: boolean | readonly string[]
  /** Origins allowed to call the gateway from a browser; empty: same origin only; `['*']`: any. */
  corsOrigins: readonly string[]
  /** Longest a graceful shutdown may take before the process exits anyway. */
  shutdownTimeoutMs: number
  /** How long a completed `Idempotency-Key` answer is kept for replay. */
  idempotencyTtlMs: number
  /** Open event streams allowed per client IP. */
  sseMaxConnectionsPerIp: number
  /** Open event streams allowed on this process. */
  sseMaxConnections: number
  /** Longest life of one event stream before it is closed with a `retry:` hint. */
  sseMaxLifetimeMs: number
  /** Backend of the state layer without `REDIS_URL`: `sqlite` (a file under `dataDir`, survives restarts) or `memory` (tests). */
  stateBackend: 'sqlite' | 'memory'
  /** Directory of the SQLite database (`trackgate.db`), created on first start. */
  dataDir: string
  /** Redis shared by the instances of a cluster; unset: the state stays on this machine (`stateBackend`). */
  redisUrl: string | undefined
  /** Namespace of every Redis key and channel, so several clusters can share one Redis. */
  redisKeyPrefix: string
  /** Most instances sharing the API key at once; during a Redis outage each allows itself 1/N of the quota. */
  clusterMaxInstances: number
  /** `NODE_ENV`; `production` refuses what only suits development (the simulator without `SIMULATOR=true`, a per-process order-token secret). */
  nodeEnv: string
  /** Start on the built-in simulator even with `NODE_ENV=production` (no key). */
  simulator: boolean
  /** Gateway tokens given inline (hashes only). */
  gatewayTokens: readonly TokenEntry[]
  /** File of gateway tokens, re-read when it changes. */
  gatewayTokensFile: string | undefined
  /** Upstream calls per rolling 24 h of a token that sets no allowance of its own. */
  tokenDailyAllowance: number
  /** Upstream calls per rolling 24 h of each anonymous client (IPv4 address, IPv6 /64). */
  anonDailyAllowance: number
  /** Secret of the order tokens (HMAC key); unset: a random one per process. */
  orderTokenSecret: string | undefined
  /** Part of the daily quota kept for the pollers, which no other use may take. */
  quotaPollShare: number
  /** Longest time to receive a whole request (headers and body); streams' responses are not bounded by it. */
  requestTimeoutMs: number
  /** PEM certificate (chain) file: with {@link Config.tlsKeyFile}, serve HTTPS with HTTP/2 (HTTP/1.1 still accepted). */
  tlsCertFile: string | undefined
  /** PEM private key file of {@link Config.tlsCertFile}. */
  tlsKeyFile: string | undefined
  /** Concurrent connections per client IP. */
  maxConnectionsPerIp: number
  /** Webhook hosts (names) or CIDRs that may be internal, and may use http. */
  webhookAllowHosts: readonly string[]
  /** Longest webhook attempt: connection, request and answer. */
  webhookTimeoutMs: number
  /** First retry delay of a failed delivery; doubles per attempt (jittered), capped at 6 h. */
  webhookRetryBaseMs: number
  /** How long a delivery is retried before it is given up. */
  webhookRetryForMs: number
  /** An endpoint failing without a success for this long is disabled. */
  webhookDisableAfterMs: number
  /** How long a finished webhook delivery (delivered or given up) is kept, from when it finished. */
  webhookDeliveryRetentionMs: number
}

class SettingError extends Error {}

type Parser<T> = (raw: string) => T

interface Setting<K extends keyof Config> {
  env: string
  key: K
  parse: Parser<Config[K]>
  /** Value when the variable is unset or empty. */
  fallback: Config[K]
  doc: string
}

const text = (raw: string): string => raw

const optionalText = (raw: string): string | undefined => raw

function integer (min: number, max: number): Parser<number> {
  return (raw) => {
    if (!/^\d+$/.test(raw)) throw new SettingError(`expected a whole number, got "${raw}"`)
    const n = Number(raw)
    if (n < min || n > max) throw new SettingError(`expected ${min}..${max}, got ${n}`)
    return n
  }
}

function httpUrl (raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new SettingError(`not a URL: "${raw}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SettingError(`expected an http(s) URL, got "${raw}"`)
  }
  if (url.search !== '' || url.hash !== '') throw new SettingError('must not carry a query or fragment')
  return raw.replace(/\/+$/, '')
}

function oneOf<T extends string> (values: readonly T[]): Parser<T> {
  return (raw) => {
    if (!(values as readonly string[]).includes(raw)) throw new SettingError(`expected one of ${values.join(', ')}, got "${raw}"`)
    return raw as T
  }
}

/**
 * `false`/`true`, or a comma-separated list of IP addresses and CIDR ranges. Hop counts
 * are refused: Fastify 5.12 cannot validate the peer with them and trusts nothing.
 */
function trustProxy (raw: string): boolean | readonly string[] {
  if (raw === 'false') return false
  if (raw === 'true') return true
  if (/^\d+$/.test(raw)) throw new SettingError(`hop counts are not supported (Fastify ignores them); give the proxies' addresses or CIDR ranges, or true, got "${raw}"`)
  const entries = raw.split(',').map((e) => e.trim()).filter((e) => e !== '')
  for (const e of entries) {
    const [ip, bits, extra] = e.split('/')
    const family = isIP(ip ?? '')
    const maxBits = family === 6 ? 128 : 32
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits)
    if (family === 0 || !bitsOk || extra !== undefined) {
      throw new SettingError(`expected true, false or IP addresses/CIDR ranges, got "${e}"`)
    }
  }
  return entries
}

/** A `redis://` or `rediss://` URL (credentials allowed; never logged). */
function redisUrl (raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new SettingError('not a URL')
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new SettingError(`expected a redis:// or rediss:// URL, got "${url.protocol}//…"`)
  if (url.hostname === '') throw new SettingError('the URL names no host')
  return raw
}

/** A key namespace: 1 to 64 letters, digits and `:_.-`. */
function keyPrefix (raw: string): string {
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(raw)) throw new SettingError(`expected 1 to 64 letters, digits or ":_.-", got "${raw}"`)
  return raw
}

/** A comma-separated list of host names or CIDRs (`hooks.internal`, `10.0.0.0/8`, `::1/128`). */
function hostList (raw: string): readonly string[] {
  return raw.split(',').map((e) => e.trim().toLowerCase()).filter((e) => e !== '').map((e) => {
    const [address, bits, extra] = e.split('/')
    if (bits !== undefined) {
      const max = isIP(address ?? '') === 4 ? 32 : isIP(address ?? '') === 6 ? 128 : -1
      if (max < 0 || extra !== undefined || !/^\d+$/.test(bits) || Number(bits) > max) throw new SettingError(`not a CIDR: "${e}"`)
    } else if (!/^[a-z0-9.:_-]+$/.test(e)) {
      throw new SettingError(`not a host name or CIDR: "${e}"`)
    }
    return e
  })
}

/** A comma-separated list of browser origins (`https://app.example.com`), or `*`. */
function origins (raw: string): readonly string[] {
  const entries = raw.split(',').map((e) => e.trim()).filter((e) => e !== '')
  if (entries.includes('*')) {
    if (entries.length > 1) throw new SettingError('"*" cannot be combined with other origins')
    return ['*']
  }
  return entries.map((e) => {
    let url: URL
    try {
      url = new URL(e)
    } catch {
      throw new SettingError(`not an origin: "${e}"`)
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== e.replace(/\/$/, '')) {
      throw new SettingError(`expected an origin like https://app.example.com (scheme, host, optional port; no path), got "${e}"`)
    }
    return url.origin
  })
}

function boolean (raw: string): boolean {
  if (raw === 'true' || raw === '1') return true
  if (raw === 'false' || raw === '0') return false
  throw new SettingError(`expected true or false, got "${raw}"`)
}

/** A fraction of a whole, `0` to `1` (e.g. `0.5`). */
function fraction (raw: string): number {
  if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(raw)) throw new SettingError(`expected a fraction from 0 to 1, got "${raw}"`)
  return Number(raw)
}

/** A secret of at least 32 characters (never echoed). */
function secret (raw: string): string {
  if (raw.length < 32) throw new SettingError(`expected at least 32 characters, got ${raw.length}`)
  return raw
}

/** A JSON array of gateway token entries (only hashes; values never echoed). */
function tokenEntries (raw: string): readonly TokenEntry[] {
  try {
    return parseTokenEntries(raw)
  } catch (err) {
    throw new SettingError((err as Error).message)
  }
}

function setting<K extends keyof Config> (s: Setting<K>): Setting<K> {
  return s
}

/** Every setting, in the order the README lists them. */
export const SETTINGS = [
  setting({ env: 'SECRETCRYPTOS_API_URL', key: 'upstreamUrl', parse: httpUrl, fallback: 'https://api.secretcryptos.com/v1', doc: 'Base URL of the SecretCryptos v1 API.' }),
  setting({ env: 'SECRETCRYPTOS_API_KEY', key: 'apiKey', parse: optionalText, fallback: undefined, doc: 'API key, sent upstream as a Bearer token and never to clients. Unset: the built-in simulator is started and used.' }),
  setting({ env: 'SECRETCRYPTOS_PARTNER_KEY', key: 'partnerKey', parse: optionalText, fallback: undefined, doc: 'Partner key: the `partner` of every order created through the gateway, replacing any `partner` a body names.' }),
  setting({ env: 'HOST', key: 'host', parse: text, fallback: '127.0.0.1', doc: 'Address to listen on.' }),
  setting({ env: 'PORT', key: 'port', parse: integer(0, 65535), fallback: 3000, doc: 'Port to listen on.' }),
  setting({ env: 'UPSTREAM_TIMEOUT_MS', key: 'upstreamTimeoutMs', parse: integer(100, 300_000), fallback: 10_000, doc: 'Deadline of one upstream call; past it the client gets 504 UPSTREAM_TIMEOUT.' }),
  setting({ env: 'CREATE_SETTLE_TIMEOUT_MS', key: 'createSettleTimeoutMs', parse: integer(100, 3_600_000), fallback: 120_000, doc: 'Hard deadline of an order creation. Its client gets 504 at `UPSTREAM_TIMEOUT_MS`, but the call keeps running up to this long; a late answer is stored under the request\'s `Idempotency-Key` and replayed to a retry with that key. At least `UPSTREAM_TIMEOUT_MS`.' }),
  setting({ env: 'UPSTREAM_CONNECTIONS', key: 'upstreamConnections', parse: integer(1, 1024), fallback: 16, doc: 'Most concurrent keep-alive connections to upstream.' }),
  setting({ env: 'META_CACHE_TTL_MS', key: 'metaCacheTtlMs', parse: integer(0, 86_400_000), fallback: 300_000, doc: 'How long `/v1/meta*` answers are served from cache.' }),
  setting({ env: 'PRICES_CACHE_TTL_MS', key: 'pricesCacheTtlMs', parse: integer(0, 86_400_000), fallback: 30_000, doc: 'How long `/v1/prices` answers are served from cache.' }),
  setting({ env: 'UPSTREAM_DAILY_QUOTA', key: 'dailyQuota', parse: integer(1, 100_000_000), fallback: 1000, doc: 'Upstream requests allowed per rolling 24 h for the key; never exceeded.' }),
  setting({ env: 'QUOTA_RESERVE', key: 'quotaReserve', parse: integer(0, 100_000_000), fallback: 50, doc: 'Part of the daily quota only order creation may use (its own partition: no other call takes from it).' }),
  setting({ env: 'BODY_LIMIT_BYTES', key: 'bodyLimit', parse: integer(1024, 10_485_760), fallback: 65_536, doc: 'Largest accepted request body; larger → 413 PAYLOAD_TOO_LARGE.' }),
  setting({ env: 'POLL_INTERVAL_MS', key: 'pollIntervalMs', parse: integer(1, 86_400_000), fallback: 60_000, doc: 'Upstream\'s refresh period as the poll allocator assumes it (about once a minute; its phase is learned), and the shortest spacing of the watch\'s checks of one order.' }),
  setting({ env: 'POLL_WAITING_PAYMENT_MS', key: 'pollWaitingPaymentMs', parse: integer(1, 86_400_000), fallback: 90_000, doc: 'Shortest spacing of the checks of an unpaid order once its deposit address is 30 refresh periods old.' }),
  setting({ env: 'POLL_MAX_INTERVAL_MS', key: 'pollMaxIntervalMs', parse: integer(1, 86_400_000), fallback: 900_000, doc: 'Longest backoff after failed checks; an order nothing can change gets a safety check every 24 × this.' }),
  setting({ env: 'POLLER_GRACE_MS', key: 'pollerGraceMs', parse: integer(0, 3_600_000), fallback: 5_000, doc: 'How long a poller keeps running after its last subscriber left.' }),
  setting({ env: 'SSE_HEARTBEAT_MS', key: 'sseHeartbeatMs', parse: integer(100, 3_600_000), fallback: 15_000, doc: 'Interval of the comment line that keeps idle streams open through proxies.' }),
  setting({ env: 'SSE_RETRY_MS', key: 'sseRetryMs', parse: integer(100, 3_600_000), fallback: 3_000, doc: 'Reconnection delay (`retry:`) suggested to EventSource clients.' }),
  setting({ env: 'NOT_FOUND_CACHE_MS', key: 'notFoundCacheMs', parse: integer(0, 86_400_000), fallback: 300_000, doc: 'How long an unknown trackcode is answered 404 from memory before upstream is asked again.' }),
  setting({ env: 'FINAL_CACHE_MS', key: 'finalCacheMs', parse: integer(0, 7 * 86_400_000), fallback: 3_600_000, doc: 'How long the final snapshot of a Done or Gone order is served without asking upstream.' }),
  setting({ env: 'SSE_MAX_CONNECTIONS_PER_IP', key: 'sseMaxConnectionsPerIp', parse: integer(1, 100_000), fallback: 20, doc: 'Open event streams allowed per client IP; one more is refused with 429 TOO_MANY_REQUESTS.' }),
  setting({ env: 'SSE_MAX_CONNECTIONS', key: 'sseMaxConnections', parse: integer(1, 10_000_000), fallback: 20_000, doc: 'Open event streams allowed on this process; past it new streams get a `retry:` hint and are closed, so browsers try again later.' }),
  setting({ env: 'SSE_MAX_LIFETIME_MS', key: 'sseMaxLifetimeMs', parse: integer(1000, 86_400_000), fallback: 1_800_000, doc: 'Longest life of one event stream; it is then closed with a `retry:` hint so connections rotate across instances.' }),
  setting({ env: 'RATE_LIMIT_MAX', key: 'rateLimitMax', parse: integer(0, 10_000_000), fallback: 300, doc: 'Requests per client IP per `RATE_LIMIT_WINDOW_MS` (event streams and health probes excepted); more → 429 with `Retry-After`. 0 disables the limit.' }),
  setting({ env: 'RATE_LIMIT_WINDOW_MS', key: 'rateLimitWindowMs', parse: integer(1000, 86_400_000), fallback: 60_000, doc: 'Window of `RATE_LIMIT_MAX`.' }),
  setting({ env: 'RATE_LIMIT_CREATE_MAX', key: 'rateLimitCreateMax', parse: integer(0, 10_000_000), fallback: 10, doc: 'Order creations and deletions per client IP per `RATE_LIMIT_CREATE_WINDOW_MS`, on top of the general limit (they spend the quota reserve and upstream deposit addresses). 0 disables it.' }),
  setting({ env: 'RATE_LIMIT_CREATE_WINDOW_MS', key: 'rateLimitCreateWindowMs', parse: integer(1000, 86_400_000), fallback: 600_000, doc: 'Window of `RATE_LIMIT_CREATE_MAX`.' }),
  setting({ env: 'TRUST_PROXY', key: 'trustProxy', parse: trustProxy, fallback: false, doc: 'Behind a load balancer: the proxies\' IPs/CIDRs, comma-separated (e.g. `10.0.0.0/8`), or `true` to trust any peer (only when nothing can reach the gateway except through the proxy); decides the client IP used by rate limits and logs. Default `false`: the TCP peer is the client.' }),
  setting({ env: 'TLS_CERT_FILE', key: 'tlsCertFile', parse: optionalText, fallback: undefined, doc: 'PEM certificate (with its chain) to serve HTTPS directly. With `TLS_KEY_FILE`: HTTP/2 over TLS, HTTP/1.1 still accepted (ALPN), so a browser\'s many tracking tabs share one connection. Unset: plain HTTP (put TLS and HTTP/2 on the proxy in front, see docs/operations.md).' }),
  setting({ env: 'TLS_KEY_FILE', key: 'tlsKeyFile', parse: optionalText, fallback: undefined, doc: 'PEM private key of `TLS_CERT_FILE`.' }),
  setting({ env: 'CORS_ORIGINS', key: 'corsOrigins', parse: origins, fallback: [], doc: 'Browser origins allowed to call the gateway cross-origin, comma-separated (`https://shop.example`), or `*` for any. Unset: same origin only (no CORS headers).' }),
  setting({ env: 'IDEMPOTENCY_TTL_MS', key: 'idempotencyTtlMs', parse: integer(60_000, 7 * 86_400_000), fallback: 86_400_000, doc: 'How long the answer to an order creation sent with an `Idempotency-Key` is kept and replayed for the same key.' }),
  setting({ env: 'SHUTDOWN_TIMEOUT_MS', key: 'shutdownTimeoutMs', parse: integer(1000, 600_000), fallback: 25_000, doc: 'On SIGTERM/SIGINT: time allowed to finish in-flight requests and close streams before the process exits anyway.' }),
  setting({ env: 'STATE_BACKEND', key: 'stateBackend', parse: oneOf(['sqlite', 'memory']), fallback: 'sqlite', doc: 'Where the state of a single instance lives when `REDIS_URL` is unset: `sqlite`, a database file under `DATA_DIR` (idempotency records, snapshots, known orders and the meta/prices cache survive a restart or a crash), or `memory` (lost on restart; for tests). Ignored with `REDIS_URL`.' }),
  setting({ env: 'DATA_DIR', key: 'dataDir', parse: text, fallback: './data', doc: 'Directory of the SQLite database `trackgate.db` (with its `-wal` and `-shm` files), created on first start; relative paths are from the working directory. One gateway process per directory.' }),
  setting({ env: 'REDIS_URL', key: 'redisUrl', parse: redisUrl, fallback: undefined, doc: 'Redis shared by every instance of a cluster (`redis://[:password@]host:6379/0`, `rediss://` for TLS): poller leases, snapshots and their fan-out, the daily quota, `Idempotency-Key` records and the meta/prices cache become cluster-wide. Unset: the state stays on this machine (see `STATE_BACKEND`).' }),
  setting({ env: 'REDIS_KEY_PREFIX', key: 'redisKeyPrefix', parse: keyPrefix, fallback: 'trackgate:', doc: 'Prefix of every Redis key and channel; give each cluster sharing one Redis its own.' }),
  setting({ env: 'CLUSTER_MAX_INSTANCES', key: 'clusterMaxInstances', parse: integer(1, 1000), fallback: 4, doc: 'Most gateway instances sharing the API key at any moment (count the extra ones of a rolling deploy). While Redis is unreachable each instance allows itself this fraction (1/N) of the daily quota, so together they still stay within it.' }),
  setting({ env: 'NODE_ENV', key: 'nodeEnv', parse: text, fallback: 'development', doc: '`production` refuses to start without `SECRETCRYPTOS_API_KEY` (unless `SIMULATOR=true`) and without `ORDER_TOKEN_SECRET`.' }),
  setting({ env: 'SIMULATOR', key: 'simulator', parse: boolean, fallback: false, doc: 'With `NODE_ENV=production` and no API key: start on the built-in simulator anyway (its deposit addresses are invalid on purpose and every answer says `Trackgate-Simulated: true`).' }),
  setting({ env: 'GATEWAY_TOKENS', key: 'gatewayTokens', parse: tokenEntries, fallback: [], doc: 'Gateway tokens of server-side clients, a JSON array of `{"name","sha256","routes"?,"daily_allowance"?}` (the token\'s SHA-256, never the token; `npm run token -- --name NAME` makes one). See docs/access.md.' }),
  setting({ env: 'GATEWAY_TOKENS_FILE', key: 'gatewayTokensFile', parse: optionalText, fallback: undefined, doc: 'A file holding the same JSON array, re-read when it changes: tokens rotate without a restart.' }),
  setting({ env: 'TOKEN_DAILY_ALLOWANCE', key: 'tokenDailyAllowance', parse: integer(0, 100_000_000), fallback: 500, doc: 'Upstream calls per rolling 24 h of a gateway token whose entry sets no `daily_allowance`.' }),
  setting({ env: 'ANON_DAILY_ALLOWANCE', key: 'anonDailyAllowance', parse: integer(0, 100_000_000), fallback: 30, doc: 'Upstream calls per rolling 24 h that each anonymous client (an IPv4 address, an IPv6 /64) may cause; cached answers and already tracked orders cost nothing.' }),
  setting({ env: 'ORDER_TOKEN_SECRET', key: 'orderTokenSecret', parse: secret, fallback: undefined, doc: 'Secret (≥ 32 characters) of the order tokens that let their holder delete an order or see its unmasked addresses. Required in production and with `REDIS_URL` (the same on every instance); unset otherwise: a random one per process.' }),
  setting({ env: 'QUOTA_POLL_SHARE', key: 'quotaPollShare', parse: fraction, fallback: 0.8, doc: 'Fraction of `UPSTREAM_DAILY_QUOTA` kept for the live-tracking pollers (the `poll` partition, rounded down; 800 of the default 1000, leaving 150 for REST with the default `QUOTA_RESERVE`); no REST traffic can take it. With `QUOTA_RESERVE` it must leave the rest of the quota at 0 or more.' }),
  setting({ env: 'REQUEST_TIMEOUT_MS', key: 'requestTimeoutMs', parse: integer(1000, 600_000), fallback: 15_000, doc: 'Longest time to receive a whole request (headers and body); a slower client gets 408. Event streams are not cut by it.' }),
  setting({ env: 'MAX_CONNECTIONS_PER_IP', key: 'maxConnectionsPerIp', parse: integer(1, 1_000_000), fallback: 64, doc: 'Concurrent connections per client IP (connections from `TRUST_PROXY` proxies excepted); more are refused.' }),
  setting({ env: 'WEBHOOK_ALLOW_HOSTS', key: 'webhookAllowHosts', parse: hostList, fallback: [], doc: 'Comma-separated host names or CIDRs whose webhook URLs may resolve to internal addresses (loopback, private, link-local…) and may use `http:`; every other webhook URL must be `https:` and public. See docs/webhooks.md.' }),
  setting({ env: 'WEBHOOK_TIMEOUT_MS', key: 'webhookTimeoutMs', parse: integer(100, 60_000), fallback: 10_000, doc: 'Longest webhook attempt (connecting, sending, the answer\'s status and up to 64 KiB of body); slower is a failed attempt.' }),
  setting({ env: 'WEBHOOK_RETRY_BASE_MS', key: 'webhookRetryBaseMs', parse: integer(10, 3_600_000), fallback: 30_000, doc: 'Delay before the first retry of a failed webhook delivery; each retry doubles it (±20 % jitter), up to 6 h.' }),
  setting({ env: 'WEBHOOK_RETRY_FOR_MS', key: 'webhookRetryForMs', parse: integer(100, 7 * 86_400_000), fallback: 26 * 3_600_000, doc: 'How long a webhook delivery is retried before it is given up (default 26 h).' }),
  setting({ env: 'WEBHOOK_DISABLE_AFTER_MS', key: 'webhookDisableAfterMs', parse: integer(100, 30 * 86_400_000), fallback: 24 * 3_600_000, doc: 'A webhook endpoint whose attempts all failed for this long (at least 5 in a row) is disabled until re-enabled (default 24 h).' }),
  setting({ env: 'WEBHOOK_DELIVERY_RETENTION_MS', key: 'webhookDeliveryRetentionMs', parse: integer(100, 365 * 86_400_000), fallback: 7 * 86_400_000, doc: 'How long a finished webhook delivery (delivered or given up) stays listable and replayable, counted from when it finished (default 7 days); then it is deleted, and its event once no delivery of it remains. At least `WEBHOOK_RETRY_FOR_MS`. See docs/webhooks.md.' }),
  setting({ env: 'LOG_LEVEL', key: 'logLevel', parse: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), fallback: 'info', doc: 'Log level (pino).' })
] as const

/** Thrown by {@link loadConfig}; its message lists every bad variable. */
export class ConfigError extends Error {
  readonly problems: readonly string[]
  constructor (problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/** The configuration every setting's default gives (what `npm start` runs with). */
export function defaultConfig (): Config {
  const out: Record<string, unknown> = {}
  for (const s of SETTINGS) out[s.key] = s.fallback
  return out as unknown as Config
}

/**
 * Reads the configuration from `env`. Unset or empty variables take their default.
 * Throws {@link ConfigError} naming every invalid variable.
 */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {}
  const problems: string[] = []
  for (const s of SETTINGS) {
    const raw = env[s.env]?.trim()
    if (raw === undefined || raw === '') {
      out[s.key] = s.fallback
      continue
    }
    try {
      out[s.key] = (s.parse as Parser<unknown>)(raw)
    } catch (err) {
      if (!(err instanceof SettingError)) throw err
      problems.push(`${s.env}: ${err.message}`)
    }
  }
  const config = out as unknown as Config
  if (problems.length === 0 && config.quotaReserve >= config.dailyQuota) {
    problems.push(`QUOTA_RESERVE: must be below UPSTREAM_DAILY_QUOTA (${config.dailyQuota}), got ${config.quotaReserve}`)
  }
  if (problems.length === 0 && config.quotaReserve < config.dailyQuota) {
    const poll = Math.floor(config.dailyQuota * config.quotaPollShare)
    if (config.dailyQuota - config.quotaReserve - poll < 0) {
      problems.push(`QUOTA_POLL_SHARE: with QUOTA_RESERVE (${config.quotaReserve}) it must leave the rest of UPSTREAM_DAILY_QUOTA (${config.dailyQuota}) at 0 or more; ${config.quotaPollShare} keeps ${poll} for the pollers`)
    }
  }
  if (problems.length === 0 && config.createSettleTimeoutMs < config.upstreamTimeoutMs) {
    problems.push(`CREATE_SETTLE_TIMEOUT_MS: must be at least UPSTREAM_TIMEOUT_MS (${config.upstreamTimeoutMs}), got ${config.createSettleTimeoutMs}`)
  }
  if (problems.length === 0 && config.webhookDeliveryRetentionMs < config.webhookRetryForMs) {
    problems.push(`WEBHOOK_DELIVERY_RETENTION_MS: must be at least WEBHOOK_RETRY_FOR_MS (${config.webhookRetryForMs}), got ${config.webhookDeliveryRetentionMs}`)
  }
  if (problems.length === 0 && config.nodeEnv === 'production' && config.apiKey === undefined && !config.simulator) {
    problems.push('SECRETCRYPTOS_API_KEY: required with NODE_ENV=production; without it trackgate would serve the built-in simulator (set SIMULATOR=true to run the simulator in production on purpose)')
  }
  if (problems.length === 0 && config.orderTokenSecret === undefined && (config.nodeEnv === 'production' || config.redisUrl !== undefined)) {
    problems.push(`ORDER_TOKEN_SECRET: required ${config.redisUrl !== undefined ? 'with REDIS_URL (every instance must verify the order tokens of the others)' : 'with NODE_ENV=production (order tokens must survive a restart)'}; at least 32 random characters, e.g. \`openssl rand -base64 48\``)
  }
  if ((config.tlsCertFile === undefined) !== (config.tlsKeyFile === undefined)) {
    problems.push('TLS_CERT_FILE, TLS_KEY_FILE: set both (HTTPS with HTTP/2) or neither (plain HTTP)')
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}
