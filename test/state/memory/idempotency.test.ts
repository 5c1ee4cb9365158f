/**
 * The in-process idempotency store beyond the contract (`../idempotency.test.ts`):
 * lock and answer lapse to the millisecond, and its bounds — oldest answers evicted
 * first, running keys never, bytes counted.
 */
import t from 'tap'
import { type StoredResponse } from '../../../src/state/idempotency/index.js'
import { MemoryIdempotencyStore } from '../../../src/state/idempotency/memory.js'

const answer = (text: string, statusCode = 200): StoredResponse => ({ statusCode, contentType: 'application/json', body: Buffer.from(text) })

t.test('a lock lapses after lockMs; an answer after its ttl (to the millisecond)', async (t) => {
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
