import t from 'tap'
import { MemoryQuota } from '../../src/state/quota/memory.js'

function clock (start = 1_000_000) {
  let now = start
  return { now: () => now, advance: (ms: number) => { now += ms } }
}

t.test('ordinary calls stop at limit - reserve, creates may use the reserve', async (t) => {
  const c = clock()
  const q = new MemoryQuota({ limit: 5, reserve: 2, windowMs: 1000, now: c.now })
  for (let i = 0; i < 3; i++) t.same(await q.tryAcquire('poll'), { granted: true })
  const refused = await q.tryAcquire('rest')
  t.equal(refused.granted, false)
  t.same(await q.tryAcquire('create'), { granted: true })
  t.same(await q.tryAcquire('create'), { granted: true })
  const full = await q.tryAcquire('create')
  t.equal(full.granted, false)
  const s = await q.state()
  t.equal(s.used, 5)
  t.equal(s.remaining, 0)
  t.equal(s.remainingGeneral, 0)
})

t.test('the window rolls: slots free as the oldest calls age out', async (t) => {
  const c = clock()
  const q = new MemoryQuota({ limit: 2, reserve: 0, windowMs: 1000, now: c.now })
  await q.tryAcquire('poll')
  c.advance(400)
  await q.tryAcquire('poll')
  const r = await q.tryAcquire('poll')
  t.same(r, { granted: false, retryAt: 1_000_000 + 1000 }, 'retry when the first call leaves')
  c.advance(600)
  t.same(await q.tryAcquire('poll'), { granted: true })
  t.equal((await q.state()).used, 2)
  t.equal((await q.state()).nextFreeAt, 1_000_400 + 1000)
})

t.test('the exact rolling count is never exceeded under a burst', async (t) => {
  const c = clock()
  const q = new MemoryQuota({ limit: 100, reserve: 10, windowMs: 10_000, now: c.now })
  let granted = 0
  const results = await Promise.all(Array.from({ length: 500 }, async () => await q.tryAcquire('poll')))
  for (const r of results) if (r.granted) granted++
  t.equal(granted, 90)
})

t.test('pause refuses everything until it ends', async (t) => {
  const c = clock()
  const q = new MemoryQuota({ limit: 10, reserve: 1, windowMs: 1000, now: c.now })
  await q.pause(c.now() + 500)
  t.same(await q.tryAcquire('create'), { granted: false, retryAt: c.now() + 500 })
  t.equal((await q.state()).pausedUntil, c.now() + 500)
  c.advance(500)
  t.same(await q.tryAcquire('create'), { granted: true })
  t.equal((await q.state()).pausedUntil, 0)
})

t.test('reserve must be below the limit', async (t) => {
  t.throws(() => new MemoryQuota({ limit: 3, reserve: 3 }), RangeError)
})

t.test('the rolling count stays exact over a long run (entries at now-20..now-80 are inside a 100 ms window)', async (t) => {
  const c = clock()
  const q = new MemoryQuota({ limit: 10, reserve: 0, windowMs: 100, now: c.now })
  for (let i = 0; i < 10_000; i++) {
    await q.tryAcquire('poll')
    c.advance(20)
  }
  t.equal((await q.state()).used, 4)
})
