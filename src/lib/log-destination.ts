/**
 * Where the logs go: standard output, written in batches — at most one write every
 * {@link FLUSH_INTERVAL_MS}, not one per line — and given up for good once the reader
 * is gone.
 *
 * Pino's default destination (asynchronous sonic-boom) flushes synchronously at exit,
 * and that flush retries a failing write every 100 ms for ever: with `node
 * dist/server.js | cat` and SIGTERM to the process group, `cat` dies, the pipe breaks
 * (EPIPE), and the process hangs past its shutdown deadline, deaf to a second signal.
 * This destination collects the lines logged during {@link FLUSH_INTERVAL_MS} and writes
 * them with one system call, at once when {@link FLUSH_BYTES} are waiting, and at exit
 * (so a crash's last lines are not lost; a `kill -9` loses at most that interval's).
 * Each line is encoded into one reused buffer as it comes: joining the lines first
 * would copy them all once more, and one line with a character outside Latin-1 (the
 * `…` of a shortened trackcode) made the whole batch a two-byte string. At
 * the default level every request logs a line: a write per line was the largest single
 * cost of a request served from memory, and a write per turn of the event loop (a few
 * requests under load) still a twentieth of it.
 * A write failing with anything but EAGAIN (EPIPE, EBADF, …) turns logging off for the
 * rest of the process — there is nobody left to read it. EAGAIN (a non-blocking pipe
 * momentarily full) is retried for at most {@link FULL_PIPE_PATIENCE_MS} per batch, then
 * that batch is dropped: a stalled reader never stops the server.
 */
import { writeSync } from 'node:fs'

/** Longest one batch waits for a full pipe before it is dropped. */
const FULL_PIPE_PATIENCE_MS = 1000
/** Longest a line waits before it is written, ms. */
const FLUSH_INTERVAL_MS = 10
/** A batch this large is written without waiting for the interval to end. */
const FLUSH_BYTES = 64 * 1024
/** Room of the batch buffer: a line that may not fit is written after a flush (or alone, when longer). */
const BATCH_CAPACITY = 2 * FLUSH_BYTES
const PAUSE_MS = 5
const pause = new Int32Array(new SharedArrayBuffer(4))

/** A pino destination. */
interface LogDestination {
  write: (line: string) => void
  /** Writes what is waiting now. */
  flushSync: () => void
}

/** One destination per file descriptor: every app of the process shares it, and its exit flush. */
const destinations = new Map<number, LogDestination>()

function create (fd: number): LogDestination {
  let broken = false
  /** The batch, UTF-8 encoded: `batch[0, used)`. */
  const batch = Buffer.allocUnsafe(BATCH_CAPACITY)
  let used = 0
  let scheduled = false

  const writeAll = (bytes: Buffer): void => {
    let buf = bytes
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
  const flushSync = (): void => {
    if (used === 0) return
    const bytes = batch.subarray(0, used)
    used = 0
    // Written before the buffer is reused: `writeSync` copies it out, or the rest is dropped.
    if (!broken) writeAll(bytes)
  }
  const onTimer = (): void => {
    scheduled = false
    flushSync()
  }
  return {
    write (line) {
      if (broken) return
      // A UTF-16 unit takes at most 3 bytes: what might not fit is made room for first.
      if (line.length * 3 > BATCH_CAPACITY - used) {
        flushSync()
        if (line.length * 3 > BATCH_CAPACITY) {
          if (!broken) writeAll(Buffer.from(line, 'utf8'))
          return
        }
      }
      used += batch.write(line, used, 'utf8')
      if (used >= FLUSH_BYTES) flushSync()
      else if (!scheduled) {
        scheduled = true
        setTimeout(onTimer, FLUSH_INTERVAL_MS).unref()
      }
    },
    flushSync
  }
}

/** The pino destination writing to `fd` (default: standard output); see the module comment. */
export function logDestination (fd = 1): LogDestination {
  let destination = destinations.get(fd)
  if (destination === undefined) {
    if (destinations.size === 0) {
      process.on('exit', () => { for (const d of destinations.values()) d.flushSync() })
    }
    destination = create(fd)
    destinations.set(fd, destination)
  }
  return destination
}
