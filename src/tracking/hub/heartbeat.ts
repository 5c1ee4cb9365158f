/**
 * The heartbeat: one timer serves every open stream, writing a `: keep-alive` comment
 * to each. It runs in real time, whatever the tracking clock: it is for proxies that
 * close idle connections.
 */

/** One interval timer, running while there are streams to keep alive. */
export class Heartbeat {
  readonly #intervalMs: number
  readonly #beat: () => void
  #timer: NodeJS.Timeout | null = null

  /** `beat` writes the heartbeat to every open stream. */
  constructor (intervalMs: number, beat: () => void) {
    this.#intervalMs = intervalMs
    this.#beat = beat
  }

  /** Starts the timer unless it runs. */
  start (): void {
    if (this.#timer !== null) return
    this.#timer = setInterval(this.#beat, this.#intervalMs)
    this.#timer.unref()
  }

  stop (): void {
    if (this.#timer === null) return
    clearInterval(this.#timer)
    this.#timer = null
  }
}
