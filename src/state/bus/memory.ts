/** The in-process fan-out: one gateway, no network. */
import type { BusListener, BusMessage, TrackingBus } from './index.js'

/** In-process {@link TrackingBus}: delivery is synchronous, in publication order. */
export class MemoryBus implements TrackingBus {
  readonly #listeners = new Map<string, Set<BusListener>>()

  async publish (message: BusMessage): Promise<void> {
    const listeners = this.#listeners.get(message.trackcode)
    if (listeners === undefined) return
    for (const listener of [...listeners]) listener(message)
  }

  subscribe (trackcode: string, listener: BusListener): () => void {
    let listeners = this.#listeners.get(trackcode)
    if (listeners === undefined) {
      listeners = new Set()
      this.#listeners.set(trackcode, listeners)
    }
    listeners.add(listener)
    return () => {
      const set = this.#listeners.get(trackcode)
      if (set === undefined) return
      set.delete(listener)
      if (set.size === 0) this.#listeners.delete(trackcode)
    }
  }

  /** Trackcodes with at least one listener. */
  get topics (): number {
    return this.#listeners.size
  }
}
