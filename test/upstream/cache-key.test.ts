/**
 * `cacheKey`: the key of a cached GET is its path and its query as a URL would carry it,
 * whether the key was just built or remembered from an earlier request.
 */
import t from 'tap'
import { cacheKey } from '../../src/upstream/cached-get.js'

t.test('a GET without query is keyed by its path', async (t) => {
  t.equal(cacheKey({ path: '/meta', auth: false, ttlMs: 1000 }), 'GET /meta')
  t.equal(cacheKey({ path: '/meta', auth: false, ttlMs: 1000 }), 'GET /meta', 'the same when remembered')
  t.equal(cacheKey({ path: '/meta/mixer', auth: false, ttlMs: 1000 }), 'GET /meta/mixer')
})

t.test('a one-name query is encoded as in a URL, values kept apart', async (t) => {
  for (let round = 0; round < 2; round++) {
    t.equal(cacheKey({ path: '/prices', auth: true, ttlMs: 1000, query: { symbols: 'BTC,ETH' } }), 'GET /prices?symbols=BTC%2CETH')
    t.equal(cacheKey({ path: '/prices', auth: true, ttlMs: 1000, query: { symbols: 'BTC' } }), 'GET /prices?symbols=BTC')
    t.equal(cacheKey({ path: '/prices', auth: true, ttlMs: 1000, query: { other: 'BTC' } }), 'GET /prices?other=BTC')
    t.equal(cacheKey({ path: '/other', auth: true, ttlMs: 1000, query: { symbols: 'BTC' } }), 'GET /other?symbols=BTC')
    t.equal(cacheKey({ path: '/prices', auth: true, ttlMs: 1000, query: { symbols: 'a\u0000b &' } }), 'GET /prices?symbols=a%00b+%26')
  }
})

t.test('a query of several names keeps their order', async (t) => {
  t.equal(cacheKey({ path: '/x', auth: true, ttlMs: 1000, query: { a: '1', b: '2' } }), 'GET /x?a=1&b=2')
  t.equal(cacheKey({ path: '/x', auth: true, ttlMs: 1000, query: { b: '2', a: '1' } }), 'GET /x?b=2&a=1')
})
