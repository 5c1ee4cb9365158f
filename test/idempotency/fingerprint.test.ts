/** Request fingerprints of `Idempotency-Key` (`src/idempotency/fingerprint.ts`): canonical JSON, method, path. */
import t from 'tap'
import { canonicalJson, requestFingerprint } from '../../src/idempotency/fingerprint.js'

t.test('canonical JSON ignores key order, keeps everything else', async (t) => {
  t.equal(canonicalJson({ b: 2, a: { d: [1, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":2}')
  t.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}')
  t.equal(canonicalJson([undefined]), '[null]')
  t.equal(canonicalJson('x"y'), '"x\\"y"')
  t.equal(requestFingerprint('post', '/v1/x', { a: 1, b: 2 }), requestFingerprint('POST', '/v1/x', { b: 2, a: 1 }))
  t.not(requestFingerprint('POST', '/v1/x', { a: '1.5' }), requestFingerprint('POST', '/v1/x', { a: 1.5 }))
  t.not(requestFingerprint('POST', '/v1/x', { a: 1 }), requestFingerprint('POST', '/v1/y', { a: 1 }))
})
