/**
 * Counts hits per key in fixed windows: a key's window starts at its first hit and lasts
 * `windowMs`; the next hit after it starts a new one. The same counting as
 * `@fastify/rate-limit`'s in-process store, without its promises and callbacks: one
 * map lookup per request. At most `maxKeys` keys are held: when full, ended windows are
 * dropped, then the oldest keys until a tenth of the room is free (so that the scan
 * happens once per `maxKeys / 10` new keys, not on every one).
 */

/** A key's state after a hit. */
export interface WindowHit {
  /** Hits in the current window, this one included. */
  count: number
  /** Time left in the window, ms. */
  ttlMs: number
}

interface Window {
  count: number
  startedAt: number
}

/** See the module comment. */
export class FixedWindowCounter {
  readonly #windowMs: number
  readonly #maxKeys: number
  readonly #now: () => number
  readonly #windows = new Map<string, Window>()

  constructor (windowMs: number, maxKeys: number, now: () => number = Date.now) {
    this.#windowMs = windowMs
    this.#maxKeys = maxKeys
    this.#now = now
  }

  /** Counts a hit of `key`. */
  hit (key: string): WindowHit {
    const now = this.#now()
    let window = this.#windows.get(key)
    if (window === undefined) {
      if (this.#windows.size >= this.#maxKeys) this.#makeRoom(now)
      window = { count: 0, startedAt: now }
      this.#windows.set(key, window)
    } else if (window.startedAt + this.#windowMs <= now) {
      window.count = 0
      window.startedAt = now
    }
    window.count++
    return { count: window.count, ttlMs: window.startedAt + this.#windowMs - now }
  }

  /** Keys held now. */
  get size (): number {
    return this.#windows.size
  }

  #makeRoom (now: number): void {
    for (const [key, window] of this.#windows) {
      if (window.startedAt + this.#windowMs <= now) this.#windows.delete(key)
    }
    // The keys that came first go (a Map keeps insertion order).
    const keep = Math.floor(this.#maxKeys * 0.9)
    for (const key of this.#windows.keys()) {
      if (this.#windows.size <= keep) break
      this.#windows.delete(key)
    }
  }
}
