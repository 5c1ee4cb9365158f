/**
 * One time base for every benchmark process.
 *
 * `process.hrtime()` reads `CLOCK_MONOTONIC`, which on Linux is the same clock in every
 * process of the machine: a time taken in the gateway and one taken in a client
 * process can be subtracted directly (microsecond resolution, no wall-clock steps).
 */

/** Monotonic machine-wide time, milliseconds (fractional). */
export function monoMs (): number {
  const [s, ns] = process.hrtime()
  return s * 1e3 + ns / 1e6
}

/** Resolves after `ms` milliseconds. */
export async function sleep (ms: number): Promise<void> {
  await new Promise<void>((resolve) => { setTimeout(resolve, ms) })
}

/**
 * Polls `condition` every `everyMs` until it holds; rejects with `what` in the message
 * after `timeoutMs`. For waiting on a state rather than sleeping a fixed time.
 */
export async function waitFor (what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 25): Promise<void> {
  const deadline = monoMs() + timeoutMs
  for (;;) {
    if (await condition()) return
    if (monoMs() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}
