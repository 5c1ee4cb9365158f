/**
 * Without `TRUST_PROXY`, `X-Forwarded-For` is the client's own say and changes nothing:
 * a client sending a different forwarded address with every request is still one
 * client — its allowance, its idempotency scope and its streams are counted by its TCP
 * peer address. (The rate limits' own spoofing test is in `test/plugins/rate-limit.test.ts`.)
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { defaultConfig } from '../../src/config.js'
import { build } from '../helpers/build.js'
import { mixerOrder } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'

const ANON = defaultConfig().anonDailyAllowance
const randomCode = (): string => randomBytes(8).toString('hex').toUpperCase()
const randomIp = (): string => `203.0.113.${1 + Math.floor(Math.random() * 250)}`

t.test('a new X-Forwarded-For on every request buys no allowance', async (t) => {
  const s = await build(t)
  t.equal(s.app.config.trustProxy, false)
  const statuses: number[] = []
  for (let i = 0; i < ANON + 5; i++) {
    const res = await request(`${s.url}/v1/orders/check`, { body: { trackcode: randomCode() }, headers: { 'x-forwarded-for': randomIp() } })
    statuses.push(res.status)
  }
  t.same(statuses.slice(ANON), Array(5).fill(429), `429 after ${ANON} calls, whatever the forwarded address`)
  t.equal(s.checks(), ANON, `exactly ${ANON} checks reached upstream`)
  t.equal(await s.app.state.allowances.used('ip:127.0.0.1'), ANON, 'all charged to the TCP peer')
  t.equal(await s.app.state.allowances.used('ip:203.0.113.7'), 0, 'nothing to a forwarded address')
})

t.test('the same Idempotency-Key with another X-Forwarded-For is the same client: a replay', async (t) => {
  const s = await build(t)
  const key = randomBytes(16).toString('hex')
  const first = await request(`${s.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key, 'x-forwarded-for': '198.51.100.1' } })
  t.equal(first.status, 200, first.text)
  const second = await request(`${s.url}/v1/mixer/orders`, { body: mixerOrder(), headers: { 'idempotency-key': key, 'x-forwarded-for': '198.51.100.2' } })
  t.equal(second.status, 200)
  t.equal(second.headers.get('idempotent-replayed'), 'true', 'replayed, not a second order')
  t.equal(second.text, first.text)
  t.equal(s.calls('POST /v1/mixer/orders'), 1, 'one create reached upstream')
})
