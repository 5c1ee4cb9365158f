/**
 * A pure function of a string, remembered for the strings asked lately: a hot path asks
 * the same few (a client's address, a polled URL, a symbols list) many times. At most
 * `max` results are held; when full, the memory is emptied at once (no LRU bookkeeping on
 * the hot path), and the next calls fill it again.
 */
export function remembered<V> (compute: (key: string) => V, max: number): (key: string) => V {
  const kept = new Map<string, V>()
  return (key) => {
    let value = kept.get(key)
    if (value === undefined) {
      value = compute(key)
      if (kept.size >= max) kept.clear()
      kept.set(key, value)
    }
    return value
  }
}
