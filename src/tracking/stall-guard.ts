/**
 * The default policy for subscribers that cannot keep up: disconnect them.
 *
 * A stream whose socket is backed up already holds back only the latest snapshot and
 * tracking state (see `sse-stream.ts`), so a stalled reader never makes memory grow;
 * this guard also frees its connection (and its slot under `SSE_MAX_CONNECTIONS*`):
 *
 * - when, a second after it started lagging (the time for a healthy socket to take
 *   what was just written), more than `maxBufferedBytes` still wait in the process
 *   for the socket: a frame far larger than usual went to a reader that does not read;
 * - when the stream is still stalled — in the same episode, no `drain` since —
 *   `timeoutMs` after it started lagging. A reader that catches up in between keeps
 *   its stream.
 *
 * The browser's EventSource sees a network error and reconnects with `Last-Event-ID`,
 * so a reader that was only slow for a while resumes where it stopped. One unref'd
 * timer exists per stalled stream, none for the others. Real time, whatever the
 * tracking clock: sockets stall in real time.
 */
import type { SseStream } from './sse-stream.js'

/** How long a stream may stay stalled before it is cut, by default. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000

/** Bytes a stream may keep waiting in the process (not yet in the socket), by default. */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024

/** How long after a stall the buffered bytes are looked at, ms. */
export const BUFFER_CHECK_MS = 1000

/** Options of {@link stallGuard}. */
export interface StallGuardOptions {
  timeoutMs?: number
  maxBufferedBytes?: number
  /** Told about each stream the guard cut. */
  onDisconnect?: (stream: SseStream) => void
}

/** Returns the `onStall` handler implementing the policy above. */
export function stallGuard (opts: StallGuardOptions = {}): (stream: SseStream) => void {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_STALL_TIMEOUT_MS
  const maxBufferedBytes = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES
  const cut = (stream: SseStream): void => {
    // An ended response that still cannot be flushed is dropped too (not counted:
    // it was no subscriber any more).
    const open = !stream.closed
    stream.destroy()
    if (open) opts.onDisconnect?.(stream)
  }
  return (stream) => {
    const episode = stream.stalls
    const stillStalled = (): boolean => stream.lagging && stream.stalls === episode
    const first = Math.min(BUFFER_CHECK_MS, timeoutMs)
    const timer = setTimeout(() => {
      if (!stillStalled()) return
      if (first >= timeoutMs || stream.bufferedBytes > maxBufferedBytes) {
        cut(stream)
        return
      }
      const rest = setTimeout(() => { if (stillStalled()) cut(stream) }, timeoutMs - first)
      rest.unref()
    }, first)
    timer.unref()
  }
}
