/** `remembered`: the same results as the function, computed once per key until the memory is full. */
import { test } from 'tap'
import { remembered } from '../../src/lib/remembered.js'

test('computes once per key, and again after the memory was emptied at its cap', async (t) => {
  const calls: string[] = []
  const upper = remembered((s: string) => { calls.push(s); return s.toUpperCase() }, 2)
  t.equal(upper('a'), 'A')
  t.equal(upper('a'), 'A')
  t.same(calls, ['a'], 'a second ask is answered from memory')
  t.equal(upper('b'), 'B')
  t.equal(upper('c'), 'C', 'the memory was full: emptied, then c kept')
  t.equal(upper('a'), 'A')
  t.same(calls, ['a', 'b', 'c', 'a'], 'a was forgotten when the memory was emptied')
})

test('a result keep refuses is returned but computed again next time', async (t) => {
  const calls: string[] = []
  const upper = remembered((s: string) => { calls.push(s); return s.toUpperCase() }, 10, (key) => !key.includes('secret'))
  t.equal(upper('a secret'), 'A SECRET')
  t.equal(upper('a secret'), 'A SECRET')
  t.equal(upper('plain'), 'PLAIN')
  t.equal(upper('plain'), 'PLAIN')
  t.same(calls, ['a secret', 'a secret', 'plain'], 'only the kept result is answered from memory')
})
