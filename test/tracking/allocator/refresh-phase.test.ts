/**
 * `RefreshPhase.nextTick` (`src/tracking/allocator/refresh-phase.ts`) is the least of
 * `ticksAfter`, found in one pass: checked against it for phases learned from random
 * observations (seeded), nothing learned, and one phase left.
 */
import t, { type Test } from 'tap'
import { RefreshPhase } from '../../../src/tracking/allocator/refresh-phase.js'

const PERIOD = 60_000

/** A small seeded generator (mulberry32): the same observations on every run. */
function random (seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6D2B79F5) | 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function agrees (t: Test, phase: RefreshPhase, rand: () => number, what: string): void {
  for (let k = 0; k < 50; k++) {
    const at = 1_700_000_000_000 + Math.floor(rand() * 10 * PERIOD)
    const expected = phase.ticksAfter(at)[0] ?? at + PERIOD
    if (phase.nextTick(at) !== expected) {
      t.fail(`${what}: nextTick(${at}) = ${phase.nextTick(at)}, the least tick after it is ${expected}`)
      return
    }
  }
  t.pass(`${what}: nextTick is the least of ticksAfter`)
}

t.test('nextTick is the least tick after t, whatever was learned', async (t) => {
  const rand = random(7)
  agrees(t, new RefreshPhase({ periodMs: PERIOD }), rand, 'nothing learned')
  for (let run = 0; run < 20; run++) {
    const phase = new RefreshPhase({ periodMs: PERIOD, bins: run % 2 === 0 ? 60 : 7 })
    const observations = Math.floor(rand() * 30)
    for (let i = 0; i < observations; i++) {
      const from = 1_700_000_000_000 + Math.floor(rand() * 100 * PERIOD)
      const to = from + Math.floor(rand() * PERIOD)
      if (rand() < 0.5) phase.tickIn(from, to)
      else phase.noTickIn(from, to)
    }
    agrees(t, phase, rand, `run ${run}, ${observations} observations`)
  }
  const narrowed = new RefreshPhase({ periodMs: PERIOD })
  for (let i = 0; i < 60; i++) narrowed.tickIn(1_700_000_000_000 + i * PERIOD + 20_000, 1_700_000_000_000 + i * PERIOD + 21_000)
  t.ok(narrowed.uncertainty() < 0.1, 'a phase narrowed down')
  agrees(t, narrowed, rand, 'phase narrowed')
})
