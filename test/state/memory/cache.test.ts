/** The in-process cache beyond the contract (`../cache.test.ts`): its bound on entries. */
import t from 'tap'
import { MemoryCacheStore } from '../../../src/state/cache/memory.js'

t.test('the store evicts its oldest entry past maxEntries', async (t) => {
  const store = new MemoryCacheStore<string>({ maxEntries: 2 })
  await store.set('a', 'A', 1000)
  await store.set('b', 'B', 1000)
  await store.set('c', 'C', 1000)
  t.equal(await store.get('a'), undefined)
  t.equal(await store.get('c'), 'C')
  await store.set('z', 'Z', 0)
  t.equal(await store.get('z'), undefined, 'ttl 0 stores nothing')
})
