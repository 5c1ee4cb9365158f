/** The in-process quota beyond the contract (`../quota.test.ts`): an exact rolling count over a long run (pruning and compaction). */
import t from 'tap'
import { MemoryQuota } from '../../../src/state/quota/memory.js'
import { virtualTime } from '../fixtures/time.js'

t.test('the rolling count stays exact over a long run (entries at now-20..now-80 are inside a 100 ms window)', async (t) => {
  const time = virtualTime()
  const q = new MemoryQuota({ limit: 10, reserve: 0, windowMs: 100, now: time.now })
  for (let i = 0; i < 10_000; i++) {
    await q.tryAcquire('poll')
    await time.elapse(20)
  }
  t.equal((await q.state()).used, 4)
})

t.test('the reserve must be below the limit (the default 24 h window)', async (t) => {
  t.throws(() => new MemoryQuota({ limit: 3, reserve: 3 }), RangeError)
  // The default poll share (0.8) leaves 10 − 2 − 8 = 0 to the rest.
  t.equal((await new MemoryQuota({ limit: 10, reserve: 2 }).state()).windowMs, 24 * 60 * 60 * 1000)
})
