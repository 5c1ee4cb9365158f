/**
 * Where the logs go: standard output, written synchronously line by line, and given up
 * for good once the reader is gone.
 *
 * Pino's default destination (asynchronous sonic-boom) flushes synchronously at exit,
 * and that flush retries a failing write every 100 ms for ever: with `node
 * dist/server.js | cat` and SIGTERM to the process group, `cat` dies, the pipe breaks
 * (EPIPE), and the process hangs past its shutdown deadline, deaf to a second signal.
 * This destination writes each line at once; a write failing with anything but EAGAIN
 * (EPIPE, EBADF, …) turns logging off for the rest of the process — there is nobody
 * left to read it. EAGAIN (a non-blocking pipe momentarily full) is retried for at most
 * {@link FULL_PIPE_PATIENCE_MS} per line, then that line is dropped: a stalled reader
 * never stops the server.
 */
import { writeSync } from 'node:fs'

/** Longest one line waits for a full pipe before it is dropped. */
const FULL_PIPE_PATIENCE_MS = 1000
const PAUSE_MS = 5
const pause = new Int32Array(new SharedArrayBuffer(4))

/** A pino destination writing to `fd` (default: standard output). */
export function logDestination (fd = 1): { write: (line: string) => void } {
  let broken = false
  return {
    write (line) {
      if (broken) return
      let buf = Buffer.from(line, 'utf8')
      let waited = 0
      while (buf.length > 0) {
        try {
          buf = buf.subarray(writeSync(fd, buf))
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') {
            broken = true
            return
          }
          if (waited >= FULL_PIPE_PATIENCE_MS) return
          Atomics.wait(pause, 0, 0, PAUSE_MS)
          waited += PAUSE_MS
        }
      }
    }
  }
}
