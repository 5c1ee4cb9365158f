/**
 * A small seeded pseudo-random generator (mulberry32), so a workload is the same on
 * every run with the same seed.
 */

/** Uniform numbers in [0, 1) from a 32-bit seed. */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A uniform integer in [min, max]. */
export function randomInt (random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1))
}
