import t from 'tap'
import { type StoredResponse } from '../../src/state/idempotency/index.js'
import { MemoryIdempotencyStore } from '../../src/state/idempotency/memory.js'
import { canonicalJson, requestFingerprint } from '../../src/idempotency/fingerprint.js'

const answer = (text: string, statusCode = 200): StoredResponse => ({ statusCode, contentType: 'application/json', body: Buffer.from(text) })

t.test('a key goes new → running → done, and replays its answer', async (t) => {
  const store = new MemoryIdempotencyStore()
  t.same(await store.begin('k', 'f', 1000), { state: 'new' })
  t.same(await store.begin('k', 'f', 1000), { state: 'running' })
  await store.complete('k', 'f', answer('{"ok":true}'), 60_000)
  const again = await store.begin('k', 'f', 1000)
  t.equal(again.state, 'done')
  t.equal(again.state === 'done' && again.response.body.toString(), '{"ok":true}')
})

t.test('another fingerprint under a used key is a mismatch, running or done', async (t) => {
  const store = new MemoryIdempotencyStore()
  await store.begin('k', 'f1', 1000)
  t.same(await store.begin('k', 'f2', 1000), { state: 'mismatch' })
  await store.complete('k', 'f1', answer('x'), 60_000)
  t.same(await store.begin('k', 'f2', 1000), { state: 'mismatch' })
})

t.test('abandon releases a running key but never a completed one', async (t) => {
  const store = new MemoryIdempotencyStore()
  await store.begin('k', 'f', 1000)
  await store.abandon('k')
  t.same(await store.begin('k', 'f', 1000), { state: 'new' })
  await store.complete('k', 'f', answer('x'), 60_000)
  await store.abandon('k')
  t.equal((await store.begin('k', 'f', 1000)).state, 'done')
})

t.test('a lock lapses after lockMs; an answer after its ttl', async (t) => {
  let now = 1_000_000
  const store = new MemoryIdempotencyStore({ now: () => now })
  await store.begin('k', 'f', 500)
  now += 499
  t.same(await store.begin('k', 'f', 500), { state: 'running' })
  now += 1
  t.same(await store.begin('k', 'f', 500), { state: 'new' }, 'a crashed holder does not block the key for good')
  await store.complete('k', 'f', answer('x'), 10_000)
  now += 9_999
  t.equal((await store.begin('k', 'f', 500)).state, 'done')
  now += 1
  t.same(await store.begin('k', 'f', 500), { state: 'new' })
})

t.test('the stored body is a private copy', async (t) => {
  const store = new MemoryIdempotencyStore()
  const body = Buffer.from('{"a":1}')
  await store.begin('k', 'f', 1000)
  await store.complete('k', 'f', { statusCode: 201, contentType: 'application/json', body }, 60_000)
  body.fill(0)
  const found = await store.begin('k', 'f', 1000)
  t.equal(found.state === 'done' && found.response.body.toString(), '{"a":1}')
  t.equal(found.state === 'done' && found.response.statusCode, 201)
})

t.test('bounded: oldest answers are evicted first, running keys never', async (t) => {
  const store = new MemoryIdempotencyStore({ maxEntries: 3 })
  for (const k of ['a', 'b']) {
    await store.begin(k, 'f', 60_000)
    await store.complete(k, 'f', answer(k), 60_000)
  }
  await store.begin('c', 'f', 60_000) // running
  t.equal(store.size, 3)
  t.same(await store.begin('d', 'f', 60_000), { state: 'new' }, 'room made by evicting the oldest answer')
  t.same(await store.begin('a', 'f', 60_000), { state: 'new' }, '"a" was evicted')
  t.equal(store.size, 3)
  t.same(await store.begin('c', 'f', 60_000), { state: 'running' }, 'the running key survived')
  // Now a, c, d are all running: nothing may be evicted, so a new key is refused as busy.
  t.same(await store.begin('e', 'f', 60_000), { state: 'running' })
  t.equal(store.size, 3)
})

t.test('bounded in bytes', async (t) => {
  const store = new MemoryIdempotencyStore({ maxBytes: 10 })
  await store.begin('a', 'f', 60_000)
  await store.complete('a', 'f', answer('123456'), 60_000)
  await store.begin('b', 'f', 60_000)
  await store.complete('b', 'f', answer('7890ab'), 60_000)
  t.equal(store.bytes, 6, 'the first answer made room for the second')
  t.same(await store.begin('a', 'f', 60_000), { state: 'new' })
  await store.complete('big', 'f', answer('x'.repeat(11)), 60_000)
  t.same(await store.begin('big', 'f', 60_000), { state: 'new' }, 'an answer larger than the whole budget is not kept')
})

t.test('canonical JSON ignores key order, keeps everything else', async (t) => {
  t.equal(canonicalJson({ b: 2, a: { d: [1, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":2}')
  t.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}')
  t.equal(canonicalJson([undefined]), '[null]')
  t.equal(canonicalJson('x"y'), '"x\\"y"')
  t.equal(requestFingerprint('post', '/v1/x', { a: 1, b: 2 }), requestFingerprint('POST', '/v1/x', { b: 2, a: 1 }))
  t.not(requestFingerprint('POST', '/v1/x', { a: '1.5' }), requestFingerprint('POST', '/v1/x', { a: 1.5 }))
  t.not(requestFingerprint('POST', '/v1/x', { a: 1 }), requestFingerprint('POST', '/v1/y', { a: 1 }))
})
