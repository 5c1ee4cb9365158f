/**
 * Benchmark child: a lean Server-Sent Events load client. One process holds many
 * streams on raw TCP sockets (the request written by hand, the response's head and
 * chunked framing decoded here: no HTTP client, no EventSource library, a few hundred
 * bytes per connection), so that a handful of these can hold 10 000 subscribers on a
 * 2-core machine, spending as little CPU per event as possible on the cores the
 * gateway shares.
 *
 * Per stream it notes, on the machine's monotonic clock (see `lib/time.ts`): when the
 * request was started, when the first event arrived (set-up time), and when each
 * snapshot version (`id: <version>`) arrived: the time is taken as soon as the read
 * that completed the event returns. Every socket reads into one buffer shared by the
 * process (`net.connect`'s `onread`: no `Buffer`, string or `'data'` event per read),
 * and the bytes are decoded where they lie by a small state machine per stream
 * (chunked framing, then SSE lines); only the `id:` number and the first bytes of
 * `data:` / `event:` lines are looked at, the rest of a line is skipped with one
 * `indexOf`. Arrival times go into typed arrays.
 *
 * IPC commands:
 * - `open {url, count, concurrency, localAddress?, pause?}` → opens `count` more streams, at most
 *   `concurrency` being set up at a time; resolves when each has its first event or
 *   failed: `{opened, failed, errors, setupMs[]}`. With `pause`, each stream stops
 *   reading its socket after its first event (a slow reader).
 * - `watch {version, timeoutMs}` → resolves once every open stream has received a version
 *   ≥ `version` (or the timeout passed): `{version, received, open, arrivals[]}` with the
 *   arrival times of that version.
 * - `status` → `{open, closed, failed, events, bytes, stops, errors}`.
 * - `closeAll` → destroys every stream.
 */
import net from 'node:net'
import { emitEvent, serveIpc } from './lib/ipc.js'
import { monoMs } from './lib/time.js'

interface OpenArgs {
  url: string
  count: number
  concurrency: number
  localAddress?: string
  /** Stop reading after the first event. */
  pause?: boolean
}

/** What the current SSE line is, from its first bytes. */
const enum Line {
  /** At the start of a line: its first byte decides. */
  Start,
  /** `id: <digits>`: the digits are read. */
  Id,
  /** `event: …`: its 8th byte tells `stop` from the others. */
  Event,
  /** Anything else (`data:`, comments, `retry:`): skipped to its end. */
  Skip
}

/** What the current event is, from its first line (as the gateway writes them). */
const enum Kind { None, Id, Data, Stop, Other }

/** Where the chunked decoder is. */
const enum Chunk {
  /** Reading a size line. */
  Size,
  /** In a chunk's data (`remaining` bytes to come). */
  Data,
  /** Skipping the CRLF after a chunk's data. */
  Crlf
}

/** Byte values looked at. */
const LF = 10
const CHAR_I = 105
const CHAR_D = 100
const CHAR_E = 101
const CHAR_S = 115
const CHAR_0 = 48
const CHAR_9 = 57

/** One stream: its figures and its decoder's state (one shape for every stream). */
class Stream {
  readonly index: number
  readonly startedAt: number
  firstEventAt = 0
  /** Highest version received. */
  version = 0
  open = true
  socket: net.Socket | null = null
  /** The response head until it is complete; null once the body is being read. */
  head: string | null = ''
  chunked = true
  chunk = Chunk.Size
  /** Bytes of the current chunk's data still to come. */
  remaining = 0
  /** The size line's value so far. */
  size = 0
  /** Hex digits of the size line are over (an extension or CR follows). */
  sizeDone = false
  line = Line.Start
  /** Bytes of the current `event:` line seen. */
  column = 0
  kind = Kind.None
  /** The current event's `id:` value. */
  id = 0

  constructor (index: number, startedAt: number) {
    this.index = index
    this.startedAt = startedAt
  }
}

const streams: Stream[] = []
/** Arrival time of a version, per stream (index in `streams`). */
const arrivals = new Map<number, Float64Array>()
const errors: Record<string, number> = {}
let events = 0
let bytes = 0
let stops = 0
let closed = 0
let failed = 0
/**
 * The running `watch`: the version it waits for and how many open streams have not
 * received it yet. Kept as a count, updated per arrival and per closed stream, so an
 * arrival costs O(1) instead of a scan of every stream (which made the clients' CPU grow
 * with N² per round on the cores the gateway shares).
 */
let watching: { version: number, pending: number, done: () => void } | null = null

/** The buffer every socket of this process reads into (each read is decoded before the next). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024)

/** A stream that was still waiting for the watched version got it or closed. */
function settlePending (): void {
  if (watching === null) return
  watching.pending--
  if (watching.pending <= 0) watching.done()
}

function noteError (err: Error & { code?: string }): void {
  const key = err.code ?? err.message
  errors[key] = (errors[key] ?? 0) + 1
}

/** The arrival times of the version last asked for (one `Map` lookup per version, not per arrival). */
let arrivalsVersion = -1
let arrivalsArray: Float64Array = new Float64Array(0)

function arrivalsOf (version: number): Float64Array {
  if (version === arrivalsVersion && arrivalsArray.length >= streams.length) return arrivalsArray
  let a = arrivals.get(version)
  if (a === undefined || a.length < streams.length) {
    const grown = new Float64Array(Math.max(streams.length, 16)).fill(Number.NaN)
    if (a !== undefined) grown.set(a)
    arrivals.set(version, grown)
    a = grown
  }
  arrivalsVersion = version
  arrivalsArray = a
  return a
}

/** An event ended (blank line) in a read made at `at`. */
function dispatch (s: Stream, at: number): void {
  const kind = s.kind
  s.kind = Kind.None
  if (kind === Kind.Id) {
    events++
    if (s.firstEventAt === 0) s.firstEventAt = at
    const version = s.id
    if (version > s.version) {
      const before = s.version
      s.version = version
      arrivalsOf(version)[s.index] = at
      if (watching !== null && before < watching.version && version >= watching.version) settlePending()
    }
  } else if (kind === Kind.Data) {
    events++
    if (s.firstEventAt === 0) s.firstEventAt = at
  } else if (kind === Kind.Stop) {
    events++
    stops++
  }
}

/**
 * Decodes `buf[from, to)`, event-stream text (chunk data), for `s`. Lines are told
 * apart by their first byte: `i` (`id:`), `d` (`data:`), `e` (`event:`); comments and
 * `retry:` are skipped. An event's kind is its first line's, as the gateway writes them.
 */
function decodeText (s: Stream, buf: Buffer, from: number, to: number, at: number): void {
  let i = from
  while (i < to) {
    const line = s.line
    if (line === Line.Start) {
      const b = buf[i++] as number
      if (b === LF) {
        if (s.kind !== Kind.None) dispatch(s, at)
        continue
      }
      if (b === CHAR_I) {
        s.line = Line.Id
        s.id = 0
        if (s.kind === Kind.None) s.kind = Kind.Id
      } else if (b === CHAR_E) {
        s.line = Line.Event
        s.column = 1
        if (s.kind === Kind.None) s.kind = Kind.Other
      } else {
        s.line = Line.Skip
        if (b === CHAR_D && s.kind === Kind.None) s.kind = Kind.Data
      }
    } else if (line === Line.Id) {
      // `id: <digits>\n`: digits are accumulated, anything else before them ignored.
      const b = buf[i++] as number
      if (b === LF) s.line = Line.Start
      else if (b >= CHAR_0 && b <= CHAR_9) s.id = s.id * 10 + (b - CHAR_0)
    } else if (line === Line.Event) {
      // `event: stop`: the 8th byte (index 7) is `s`.
      const b = buf[i++] as number
      if (b === LF) {
        s.line = Line.Start
      } else {
        if (s.column === 7 && b === CHAR_S && s.kind === Kind.Other) s.kind = Kind.Stop
        if (++s.column > 7) s.line = Line.Skip
      }
    } else {
      const nl = buf.indexOf(LF, i)
      if (nl === -1 || nl >= to) {
        i = to
      } else {
        i = nl + 1
        s.line = Line.Start
      }
    }
  }
}

/** Decodes the body bytes `buf[from, to)` of `s` (chunked framing removed, if any). */
function decodeBody (s: Stream, buf: Buffer, from: number, to: number, at: number): void {
  if (!s.chunked) {
    bytes += to - from
    decodeText(s, buf, from, to, at)
    return
  }
  let i = from
  while (i < to) {
    const state = s.chunk
    if (state === Chunk.Data) {
      const end = Math.min(to, i + s.remaining)
      bytes += end - i
      decodeText(s, buf, i, end, at)
      s.remaining -= end - i
      i = end
      if (s.remaining === 0) s.chunk = Chunk.Crlf
    } else if (state === Chunk.Crlf) {
      if (buf[i++] === LF) s.chunk = Chunk.Size
    } else {
      const b = buf[i++] as number
      if (b === LF) {
        if (s.size > 0) {
          s.chunk = Chunk.Data
          s.remaining = s.size
        }
        s.size = 0
        s.sizeDone = false
      } else if (!s.sizeDone) {
        const digit = b <= CHAR_9 ? b - CHAR_0 : (b | 0x20) - 87
        if (digit >= 0 && digit < 16) s.size = s.size * 16 + digit
        else s.sizeDone = true
      }
    }
  }
}

/**
 * Opens one stream on a raw TCP socket: the request is written by hand and the
 * response read without Node's HTTP client (its parser, `IncomingMessage` stream and
 * string decoder per event cost the client processes more CPU per event than the
 * gateway's write, on the cores the gateway shares). The arrival time of an event is
 * taken as soon as the read that completed it returns.
 */
function openOne (args: OpenArgs): Promise<boolean> {
  return new Promise((resolve) => {
    const index = streams.length
    const url = new URL(args.url)
    const s = new Stream(index, monoMs())
    streams.push(s)
    let settled = false
    const settle = (ok: boolean): void => {
      if (settled) return
      settled = true
      if (!ok) failed++
      resolve(ok)
    }
    const end = (): void => {
      if (!s.open) return
      s.open = false
      closed++
      settle(false)
      if (watching !== null && s.version < watching.version) settlePending()
    }
    /** One read of `nread` bytes into the shared buffer; false stops reading (a slow reader). */
    const onRead = (nread: number, buf: Buffer): boolean => {
      const at = monoMs()
      let from = 0
      if (s.head !== null) {
        const head = s.head + buf.toString('latin1', 0, nread)
        const endOfHead = head.indexOf('\r\n\r\n')
        if (endOfHead === -1) {
          s.head = head
          return true
        }
        s.head = null
        const status = Number(head.slice(9, 12))
        if (status !== 200) {
          noteError(new Error(`HTTP ${status}`))
          socket.destroy()
          end()
          return false
        }
        s.chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head.slice(0, endOfHead))
        from = nread - (head.length - endOfHead - 4)
      }
      decodeBody(s, buf, from, nread, at)
      if (s.firstEventAt !== 0 && !settled) {
        settle(true)
        if (args.pause === true) return false
      }
      return true
    }
    const socket = net.connect({
      host: url.hostname,
      port: Number(url.port),
      ...(args.localAddress === undefined ? {} : { localAddress: args.localAddress }),
      onread: { buffer: READ_BUFFER, callback: onRead }
    })
    s.socket = socket
    socket.on('end', end)
    socket.on('close', end)
    socket.on('error', (err) => { noteError(err); end() })
    socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n`)
  })
}

async function open (args: OpenArgs): Promise<{ opened: number, failed: number, errors: Record<string, number>, setupMs: number[] }> {
  const first = streams.length
  let next = 0
  let ok = 0
  let bad = 0
  const lanes = Array.from({ length: Math.max(1, Math.min(args.concurrency, args.count)) }, async () => {
    while (next < args.count) {
      next++
      if (await openOne(args)) ok++
      else bad++
    }
  })
  await Promise.all(lanes)
  const setupMs: number[] = []
  for (let i = first; i < streams.length; i++) {
    const s = streams[i] as Stream
    if (s.firstEventAt !== 0) setupMs.push(s.firstEventAt - s.startedAt)
  }
  return { opened: ok, failed: bad, errors: { ...errors }, setupMs }
}

function openCount (): number {
  let n = 0
  for (const s of streams) if (s.open) n++
  return n
}

async function watch (args: unknown): Promise<{ version: number, received: number, open: number, arrivals: number[] }> {
  const { version, timeoutMs } = args as { version: number, timeoutMs: number }
  let pending = 0
  for (const s of streams) if (s.open && s.version < version) pending++
  if (pending > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, timeoutMs)
      function finish (): void {
        clearTimeout(timer)
        watching = null
        resolve()
      }
      watching = { version, pending, done: finish }
    })
  }
  const times = arrivals.get(version)
  const out: number[] = []
  if (times !== undefined) for (let i = 0; i < Math.min(times.length, streams.length); i++) if (!Number.isNaN(times[i] as number)) out.push(times[i] as number)
  return { version, received: out.length, open: openCount(), arrivals: out }
}

serveIpc({
  open: async (args) => await open(args as OpenArgs),
  watch,
  status: () => ({ open: openCount(), closed, failed, events, bytes, stops, errors: { ...errors } }),
  closeAll: () => {
    for (const s of streams) if (s.open) s.socket?.destroy()
    return { open: openCount() }
  }
})

emitEvent('ready', { pid: process.pid })
