/** `ExpiringMap`: entries gone once their expiry is reached, the oldest-written evicted past the cap. */
import { test } from 'tap'
import { ExpiringMap } from '../../src/lib/expiring-map.js'

test('set (a TTL) and setUntil (an instant) expire at the instant, not after it', async (t) => {
  let now = 1000
  const map = new ExpiringMap<string>(10, () => now)
  map.set('a', 'A', 100)
  map.setUntil('b', 'B', 1100)
  now = 1099
  t.equal(map.get('a'), 'A')
  t.equal(map.get('b'), 'B')
  now = 1100
  t.equal(map.get('a'), undefined, 'gone once its TTL is reached')
  t.equal(map.get('b'), undefined, 'gone at its instant')
  map.setUntil('c', 'C', now)
  t.equal(map.size, 0, 'an instant already reached stores nothing')
  map.setUntil('d', 'D', Infinity)
  now = Number.MAX_SAFE_INTEGER
  t.equal(map.get('d'), 'D', 'Infinity never expires')
})

test('past the cap the oldest-written goes; clear empties it', async (t) => {
  const map = new ExpiringMap<number>(2, () => 0)
  map.set('a', 1, 10)
  map.set('b', 2, 10)
  map.set('a', 3, 10)
  map.set('c', 4, 10)
  t.equal(map.get('b'), undefined, 'b was the oldest written (a was written again)')
  t.same([...map.entries()], [['a', 3], ['c', 4]])
  map.clear()
  t.equal(map.size, 0)
})
