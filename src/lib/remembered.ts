/**
 * A pure function of a string, remembered for the strings asked lately: a hot path asks
 * the same few (a client's address, a polled URL, a symbols list) many times. At most
 * `max` results are held; when full, the memory is emptied at once (no LRU bookkeeping on
 * the hot path), and the next calls fill it again. A result for which `keep` says no is
 * returned but not held (computed again next time).
 */
export function remembered<V> (compute: (key: string) => V, max: number, keep?: (key: string, value: V) => boolean): (key: string) => V {
  const kept = new Map<string, V>()
  return (key) => {
    let value = kept.get(key)
    if (value === undefined) {
      value = compute(key)
      if (keep !== undefined && !keep(key, value)) return value
      if (kept.size >= max) kept.clear()
      kept.set(key, value)
    }
    return value
  }
}
