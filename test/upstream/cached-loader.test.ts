/** `CachedLoader` and `Coalescer` (`src/upstream/cached-loader.ts`): one load per key at a time, stored for its TTL. */
import t from 'tap'
import { MemoryCacheStore } from '../../src/state/cache/memory.js'
import { CachedLoader, Coalescer } from '../../src/upstream/cached-loader.js'

t.test('concurrent misses share one load; hits within the TTL load nothing', async (t) => {
  let now = 0
  const loader = new CachedLoader(new MemoryCacheStore<number>({ now: () => now }))
  let loads = 0
  const load = async (): Promise<number> => {
    loads++
    await new Promise((resolve) => setTimeout(resolve, 10))
    return 42
  }
  const values = await Promise.all(Array.from({ length: 1000 }, async () => await loader.get('k', 100, load)))
  t.ok(values.every((v) => v === 42))
  t.equal(loads, 1)
  now = 99
  t.equal(await loader.get('k', 100, load), 42)
  t.equal(loads, 1)
  now = 100
  await loader.get('k', 100, load)
  t.equal(loads, 2, 'expired entry reloads')
})

t.test('values refused by keep() are not stored', async (t) => {
  const loader = new CachedLoader(new MemoryCacheStore<number>())
  let n = 0
  const load = async (): Promise<number> => ++n
  await loader.get('k', 1000, load, (v) => v > 1)
  await loader.get('k', 1000, load, (v) => v > 1)
  t.equal(n, 2)
  t.equal(await loader.get('k', 1000, load, (v) => v > 1), 2)
})

t.test('a failed load rejects every waiter and is not cached', async (t) => {
  const loader = new CachedLoader(new MemoryCacheStore<number>())
  let calls = 0
  const failing = async (): Promise<number> => {
    calls++
    throw new Error('boom')
  }
  const results = await Promise.allSettled([loader.get('k', 1000, failing), loader.get('k', 1000, failing)])
  t.same(results.map((r) => r.status), ['rejected', 'rejected'])
  t.equal(calls, 1)
  t.equal(await loader.get('k', 1000, async () => 7), 7)
})

t.test('coalescer forgets a key once its load settles', async (t) => {
  const c = new Coalescer<number>()
  const p = c.run('x', async () => 1)
  t.equal(c.size, 1)
  await p
  t.equal(c.size, 0)
})
