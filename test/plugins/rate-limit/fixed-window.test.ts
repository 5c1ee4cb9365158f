/**
 * The general limit's counter (`src/plugins/rate-limit/fixed-window.ts`): a key's window
 * starts at its first hit, counts every hit until it ends, then starts again; keys are
 * independent; the number of keys held stays bounded.
 */
import t from 'tap'
import { FixedWindowCounter } from '../../../src/plugins/rate-limit/fixed-window.js'

t.test('a window counts from its first hit until it ends', async (t) => {
  let now = 1_000
  const counter = new FixedWindowCounter(60_000, 100, () => now)
  t.same(counter.hit('a'), { count: 1, ttlMs: 60_000 })
  now += 10_000
  t.same(counter.hit('a'), { count: 2, ttlMs: 50_000 })
  t.same(counter.hit('b'), { count: 1, ttlMs: 60_000 }, 'keys are independent')
  now += 49_999
  t.same(counter.hit('a'), { count: 3, ttlMs: 1 })
  now += 1
  t.same(counter.hit('a'), { count: 1, ttlMs: 60_000 }, 'a new window once the last one ended')
})

t.test('keys held stay bounded: ended windows go first, then the oldest keys', async (t) => {
  let now = 0
  const counter = new FixedWindowCounter(1_000, 10, () => now)
  for (let i = 0; i < 9; i++) counter.hit(`old-${i}`)
  now = 500
  counter.hit('old-9')
  now = 1_000
  counter.hit('new-0')
  t.equal(counter.size, 2, 'the ended windows were dropped (old-9 was still running)')
  t.equal(counter.hit('old-9').count, 2, 'the running window kept its count')

  for (let i = 1; i < 20; i++) counter.hit(`new-${i}`)
  t.ok(counter.size <= 10, `never more than 10 keys (${counter.size})`)
  t.equal(counter.hit('new-19').count, 2, 'the newest keys are kept')
  t.equal(counter.hit('old-9').count, 1, 'the oldest went')
})
