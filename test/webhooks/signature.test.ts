/**
 * `src/webhooks/signature.ts` against the `standardwebhooks` library itself: our `v1,`
 * signature is byte for byte the library's `sign`, the library's `verify` accepts our
 * headers, rejects them under another secret or a changed body, and during a secret
 * rotation's overlap accepts the two-signature header under either secret.
 */
import t from 'tap'
import { Webhook } from 'standardwebhooks'
import { newSecret, sign, signatureHeaders } from '../../src/webhooks/signature.js'

const BODY = JSON.stringify({ type: 'order.completed', data: { trackcode: 'ABCDEFGHJKMNPQRS', status: 'Done' } })
const ID = 'evt_2b7f4c1e'
const now = (): number => Math.floor(Date.now() / 1000)

t.test('a new secret is whsec_ and 24 random bytes', async (t) => {
  const a = newSecret()
  t.match(a, /^whsec_[A-Za-z0-9+/]{32}$/)
  t.equal(Buffer.from(a.slice(6), 'base64').length, 24)
  t.not(newSecret(), a, 'random')
})

t.test('our signature is the library\'s', async (t) => {
  const secret = newSecret()
  const ts = now()
  t.equal(sign(secret, ID, ts, BODY), new Webhook(secret).sign(ID, new Date(ts * 1000), BODY))
  t.equal(sign(secret.slice(6), ID, ts, BODY), sign(secret, ID, ts, BODY), 'the whsec_ prefix is optional')
})

t.test('the library verifies our headers, and refuses a wrong secret or a changed body', async (t) => {
  const secret = newSecret()
  const headers = signatureHeaders([secret], ID, now(), BODY)
  t.same(Object.keys(headers).sort(), ['webhook-id', 'webhook-signature', 'webhook-timestamp'])
  t.equal(headers['webhook-id'], ID)
  t.same(new Webhook(secret).verify(BODY, headers), JSON.parse(BODY))
  t.throws(() => new Webhook(newSecret()).verify(BODY, headers), /signature/i, 'another secret')
  t.throws(() => new Webhook(secret).verify(BODY.replace('Done', 'Gone'), headers), /signature/i, 'a changed body')
  t.throws(() => new Webhook(secret).verify(BODY, { ...headers, 'webhook-id': 'evt_other' }), /signature/i, 'another id')
})

t.test('rotation overlap: two signatures, either secret verifies', async (t) => {
  const current = newSecret()
  const previous = newSecret()
  const ts = now()
  const headers = signatureHeaders([current, previous], ID, ts, BODY)
  const parts = headers['webhook-signature']?.split(' ') ?? []
  t.same(parts, [sign(current, ID, ts, BODY), sign(previous, ID, ts, BODY)], 'space-separated, the current first')
  t.ok(parts.every((p) => p.startsWith('v1,')))
  t.same(new Webhook(current).verify(BODY, headers), JSON.parse(BODY), 'a receiver already on the new secret')
  t.same(new Webhook(previous).verify(BODY, headers), JSON.parse(BODY), 'a receiver still on the old one')
  t.throws(() => new Webhook(newSecret()).verify(BODY, headers), /signature/i, 'but not a third')
})
