import t from 'tap'
import { ConfigError, defaultConfig, loadConfig, SETTINGS } from '../../src/config.js'

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
  t.equal(loadConfig({ UPSTREAM_DAILY_QUOTA: '10', QUOTA_RESERVE: '9' }).quotaReserve, 9)
})

t.test('settings are documented and unique', async (t) => {
  const names = SETTINGS.map((s) => s.env)
  t.equal(new Set(names).size, names.length)
  for (const s of SETTINGS) t.ok(s.doc.length > 10, `${s.env} has a doc line`)
})
