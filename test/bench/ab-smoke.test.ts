/**
 * Smoke run of the A/B diagnostic (`bench/ab.ts`) with this checkout on both sides, two
 * routes, one 1 s run each: every figure is a positive CPU time per request, and the
 * table prints. No performance figure is asserted.
 */
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { abTable, runAb } from '../../bench/ab.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

t.test('a smoke-size A/B completes with well-formed figures', async (t) => {
  const routes = await runAb({ a: ROOT, b: ROOT, routes: ['healthz', '304'], reps: 1, seconds: 1 })
  t.same(routes.map((r) => r.route), ['healthz', '304'])
  for (const r of routes) {
    for (const side of [r.bare, r.a, r.b]) {
      t.equal(side.length, 1, `${r.route}: one run per side`)
      t.ok(side.every((x) => Number.isFinite(x) && x > 0), `${r.route}: CPU per request measured`)
    }
  }
  t.match(abTable(routes), /\| 304 \|/)
})
