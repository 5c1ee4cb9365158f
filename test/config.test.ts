/**
 * Configuration from the environment: defaults, parsing, range checks (every problem
 * at once), and the settings table.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { ConfigError, defaultConfig, loadConfig, SETTINGS } from '../src/config.js'

t.test('defaults when nothing is set', async (t) => {
  const c = loadConfig({})
  t.equal(c.upstreamUrl, 'https://api.secretcryptos.com/v1')
  t.equal(c.apiKey, undefined)
  t.equal(c.host, '127.0.0.1')
  t.equal(c.port, 3000)
  t.equal(c.upstreamTimeoutMs, 10000)
  t.equal(c.dailyQuota, 1000)
  t.equal(c.pollIntervalMs, 60000)
  t.same(c, defaultConfig())
})

t.test('reads and parses every kind of value', async (t) => {
  const c = loadConfig({
    SECRETCRYPTOS_API_URL: 'http://127.0.0.1:9999/v1/',
    SECRETCRYPTOS_API_KEY: ' k3y ',
    SECRETCRYPTOS_PARTNER_KEY: 'p',
    PORT: '8080',
    UPSTREAM_TIMEOUT_MS: '2500',
    LOG_LEVEL: 'warn'
  })
  t.equal(c.upstreamUrl, 'http://127.0.0.1:9999/v1', 'trailing slash dropped')
  t.equal(c.apiKey, 'k3y', 'trimmed')
  t.equal(c.partnerKey, 'p')
  t.equal(c.port, 8080)
  t.equal(c.upstreamTimeoutMs, 2500)
  t.equal(c.logLevel, 'warn')
})

t.test('empty values mean unset', async (t) => {
  t.equal(loadConfig({ SECRETCRYPTOS_API_KEY: '', PORT: '  ' }).apiKey, undefined)
  t.equal(loadConfig({ PORT: '' }).port, 3000)
})

t.test('every bad value is reported at once, by name', async (t) => {
  const err = t.throws(() => loadConfig({
    PORT: 'eighty',
    UPSTREAM_TIMEOUT_MS: '5',
    SECRETCRYPTOS_API_URL: 'ftp://example.test',
    LOG_LEVEL: 'loud'
  })) as ConfigError
  t.ok(err instanceof ConfigError)
  t.equal(err.problems.length, 4)
  t.match(err.message, /PORT: expected a whole number, got "eighty"/)
  t.match(err.message, /UPSTREAM_TIMEOUT_MS: expected 100\.\.300000, got 5/)
  t.match(err.message, /SECRETCRYPTOS_API_URL: expected an http\(s\) URL/)
  t.match(err.message, /LOG_LEVEL: expected one of/)
})

t.test('URL must parse and carry no query', async (t) => {
  t.throws(() => loadConfig({ SECRETCRYPTOS_API_URL: 'not a url' }), /not a URL/)
  t.throws(() => loadConfig({ SECRETCRYPTOS_API_URL: 'https://x.test/v1?a=1' }), /query or fragment/)
})

t.test('the reserve must leave room for ordinary calls', async (t) => {
  t.throws(() => loadConfig({ UPSTREAM_DAILY_QUOTA: '10', QUOTA_RESERVE: '10' }), /QUOTA_RESERVE: must be below/)
  t.equal(loadConfig({ UPSTREAM_DAILY_QUOTA: '10', QUOTA_RESERVE: '9', QUOTA_POLL_SHARE: '0' }).quotaReserve, 9)
})

t.test('the poll share and the reserve must leave the rest partition at 0 or more', async (t) => {
  t.throws(() => loadConfig({ UPSTREAM_DAILY_QUOTA: '10', QUOTA_RESERVE: '9' }), /QUOTA_POLL_SHARE: with QUOTA_RESERVE \(9\) it must leave the rest/)
  t.throws(() => loadConfig({ UPSTREAM_DAILY_QUOTA: '1000', QUOTA_RESERVE: '50', QUOTA_POLL_SHARE: '0.96' }), /QUOTA_POLL_SHARE/)
  const c = loadConfig({ UPSTREAM_DAILY_QUOTA: '1000', QUOTA_RESERVE: '50', QUOTA_POLL_SHARE: '0.95' })
  t.equal(c.quotaPollShare, 0.95, 'an empty rest partition is allowed')
  t.equal(loadConfig({}).quotaPollShare, 0.8)
})

t.test('settings are documented and unique', async (t) => {
  const names = SETTINGS.map((s) => s.env)
  t.equal(new Set(names).size, names.length)
  for (const s of SETTINGS) t.ok(s.doc.length > 10, `${s.env} has a doc line`)
})

t.test('defaults of the limits, timeouts, proxy trust and CORS', async (t) => {
  const c = loadConfig({})
  t.equal(c.rateLimitMax, 300)
  t.equal(c.rateLimitWindowMs, 60_000)
  t.equal(c.rateLimitCreateMax, 10)
  t.equal(c.rateLimitCreateWindowMs, 600_000)
  t.equal(c.trustProxy, false)
  t.same(c.corsOrigins, [])
  t.equal(c.shutdownTimeoutMs, 25_000)
  t.equal(c.idempotencyTtlMs, 86_400_000)
  t.equal(c.sseMaxConnectionsPerIp, 20)
  t.equal(c.sseMaxConnections, 20_000)
  t.equal(c.sseMaxLifetimeMs, 1_800_000)
})

t.test('TRUST_PROXY: booleans or addresses/CIDRs, never a hop count', async (t) => {
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true)
  t.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false)
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,fd00::/8' }).trustProxy, ['10.0.0.0/8', '192.168.1.7', 'fd00::/8'])
  t.throws(() => loadConfig({ TRUST_PROXY: '2' }), /TRUST_PROXY: hop counts are not supported/)
  t.throws(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' }), /TRUST_PROXY: expected true, false or IP addresses\/CIDR ranges, got "10\.0\.0\.0\/33"/)
  t.throws(() => loadConfig({ TRUST_PROXY: 'loadbalancer' }), /TRUST_PROXY/)
  t.throws(() => loadConfig({ TRUST_PROXY: '10.0.0.1/8/1' }), /TRUST_PROXY/)
})

t.test('CORS_ORIGINS: origins or *', async (t) => {
  t.same(loadConfig({ CORS_ORIGINS: 'https://shop.example, http://localhost:8080/' }).corsOrigins, ['https://shop.example', 'http://localhost:8080'])
  t.same(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins, ['*'])
  t.throws(() => loadConfig({ CORS_ORIGINS: '*,https://a.example' }), /CORS_ORIGINS: "\*" cannot be combined/)
  t.throws(() => loadConfig({ CORS_ORIGINS: 'https://shop.example/path' }), /CORS_ORIGINS: expected an origin/)
  t.throws(() => loadConfig({ CORS_ORIGINS: 'shop.example' }), /CORS_ORIGINS/)
  t.throws(() => loadConfig({ CORS_ORIGINS: 'ftp://shop.example' }), /CORS_ORIGINS: expected an origin/)
})

t.test('limits are range-checked, all problems at once', async (t) => {
  const err = t.throws(() => loadConfig({
    RATE_LIMIT_MAX: '-1',
    RATE_LIMIT_WINDOW_MS: '10',
    SHUTDOWN_TIMEOUT_MS: '0',
    IDEMPOTENCY_TTL_MS: '5',
    SSE_MAX_CONNECTIONS_PER_IP: '0'
  })) as ConfigError
  t.equal(err.problems.length, 5)
  t.equal(loadConfig({ RATE_LIMIT_MAX: '0', RATE_LIMIT_CREATE_MAX: '0' }).rateLimitMax, 0, '0 disables')
})

t.test('CREATE_SETTLE_TIMEOUT_MS: 120 s by default, never below UPSTREAM_TIMEOUT_MS', async (t) => {
  t.equal(loadConfig({}).createSettleTimeoutMs, 120_000)
  t.equal(loadConfig({ CREATE_SETTLE_TIMEOUT_MS: '30000', UPSTREAM_TIMEOUT_MS: '30000' }).createSettleTimeoutMs, 30_000)
  t.throws(() => loadConfig({ CREATE_SETTLE_TIMEOUT_MS: '5000' }), /CREATE_SETTLE_TIMEOUT_MS: must be at least UPSTREAM_TIMEOUT_MS \(10000\), got 5000/)
  t.throws(() => loadConfig({ CREATE_SETTLE_TIMEOUT_MS: 'soon' }), /CREATE_SETTLE_TIMEOUT_MS: expected a whole number/)
})

t.test('WEBHOOK_DELIVERY_RETENTION_MS: 7 days by default, never below WEBHOOK_RETRY_FOR_MS', async (t) => {
  t.equal(loadConfig({}).webhookDeliveryRetentionMs, 7 * 86_400_000)
  t.equal(loadConfig({ WEBHOOK_DELIVERY_RETENTION_MS: '60000', WEBHOOK_RETRY_FOR_MS: '60000' }).webhookDeliveryRetentionMs, 60_000)
  t.throws(() => loadConfig({ WEBHOOK_DELIVERY_RETENTION_MS: '3600000' }), /WEBHOOK_DELIVERY_RETENTION_MS: must be at least WEBHOOK_RETRY_FOR_MS \(93600000\), got 3600000/)
})

/** A valid order-token secret, which production also requires. */
const SECRET = 'order-token-secret-of-at-least-32-characters'

t.test('NODE_ENV=production: the simulator only when asked for', async (t) => {
  const err = t.throws(() => loadConfig({ NODE_ENV: 'production', ORDER_TOKEN_SECRET: SECRET })) as ConfigError
  t.ok(err instanceof ConfigError)
  t.match(err.message, /SECRETCRYPTOS_API_KEY: required with NODE_ENV=production/)
  t.match(err.message, /SIMULATOR=true/, 'the message names the way out')
  t.equal(loadConfig({ NODE_ENV: 'production', ORDER_TOKEN_SECRET: SECRET, SIMULATOR: 'true' }).simulator, true, 'SIMULATOR=true runs it on purpose')
  t.equal(loadConfig({ NODE_ENV: 'production', ORDER_TOKEN_SECRET: SECRET, SECRETCRYPTOS_API_KEY: 'k' }).apiKey, 'k', 'a key: no simulator')
  t.equal(loadConfig({}).apiKey, undefined, 'outside production the simulator starts without being asked for')
})

t.test('NODE_ENV=production without a key: the process exits 78 naming the variable', async (t) => {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', ORDER_TOKEN_SECRET: SECRET, PORT: '0' }
  delete env.SECRETCRYPTOS_API_KEY
  delete env.SIMULATOR
  const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', 'src/server.ts'], { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk) => { stderr += String(chunk) })
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 78, 'EX_CONFIG')
  t.match(stderr, /trackgate: Invalid configuration:\n {2}- SECRETCRYPTOS_API_KEY: required with NODE_ENV=production/)
})
