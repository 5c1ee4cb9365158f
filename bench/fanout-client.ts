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
 * snapshot version (`id: <version>`) arrived. Frames are split on blank lines; only the
 * `id:` / `data:` / `event:` line heads are looked at.
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

interface Stream {
  startedAt: number
  firstEventAt: number
  /** Highest version received. */
  version: number
  rest: string
  open: boolean
  socket: net.Socket
}

interface OpenArgs {
  url: string
  count: number
  concurrency: number
  localAddress?: string
  /** Stop reading after the first event. */
  pause?: boolean
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

function arrivalsOf (version: number): Float64Array {
  let a = arrivals.get(version)
  if (a === undefined || a.length < streams.length) {
    const grown = new Float64Array(Math.max(streams.length, 16)).fill(Number.NaN)
    if (a !== undefined) grown.set(a)
    arrivals.set(version, grown)
    a = grown
  }
  return a
}

function onFrames (index: number, s: Stream, chunk: string, at: number): void {
  const text = s.rest === '' ? chunk : s.rest + chunk
  let start = 0
  for (;;) {
    const end = text.indexOf('\n\n', start)
    if (end === -1) break
    const head = text.charCodeAt(start)
    // 'i' (id:), 'd' (data:), 'e' (event:); ':' comments and 'r' (retry:) are skipped.
    if (head === 105 /* i */ && text.startsWith('id: ', start)) {
      const nl = text.indexOf('\n', start)
      const version = Number(text.slice(start + 4, nl))
      events++
      if (s.firstEventAt === 0) s.firstEventAt = at
      if (version > s.version) {
        const before = s.version
        s.version = version
        arrivalsOf(version)[index] = at
        if (watching !== null && before < watching.version && version >= watching.version) settlePending()
      }
    } else if (head === 100 /* d */ && text.startsWith('data:', start)) {
      events++
      if (s.firstEventAt === 0) s.firstEventAt = at
    } else if (head === 101 /* e */ && text.startsWith('event: stop', start)) {
      events++
      stops++
    }
    start = end + 2
  }
  s.rest = start === text.length ? '' : text.slice(start)
}

/**
 * Decodes an HTTP/1.1 response body as it arrives: `chunked` framing removed, or the
 * bytes as they are for a close-delimited body. Text is decoded as latin1: only ASCII
 * (line heads, `id:` numbers, blank lines) is looked at, and no byte of a multi-byte
 * UTF-8 character is ASCII, so nothing that matters is misread.
 */
class BodyReader {
  /** Bytes of the current chunk still to come; -1 while reading a size line, -2 while skipping a chunk's CRLF. */
  #remaining = -1
  #line = ''
  readonly #chunked: boolean

  constructor (chunked: boolean) {
    this.#chunked = chunked
  }

  /** The body text in `buf` from `from` on. */
  read (buf: Buffer, from: number): string {
    if (!this.#chunked) return buf.toString('latin1', from, buf.length)
    let out = ''
    let i = from
    while (i < buf.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, buf.length - i)
        out += buf.toString('latin1', i, i + take)
        this.#remaining -= take
        i += take
        if (this.#remaining === 0) this.#remaining = -2
      } else if (this.#remaining === -2) {
        // The CRLF after a chunk's data.
        const b = buf[i++] as number
        if (b === 10) this.#remaining = -1
      } else {
        const nl = buf.indexOf(10, i)
        if (nl === -1) {
          this.#line += buf.toString('latin1', i, buf.length)
          break
        }
        const line = this.#line + buf.toString('latin1', i, nl)
        this.#line = ''
        i = nl + 1
        const size = Number.parseInt(line, 16)
        this.#remaining = size > 0 ? size : -1
      }
    }
    return out
  }
}

/**
 * Opens one stream on a raw TCP socket: the request is written by hand and the
 * response read without Node's HTTP client (its parser, `IncomingMessage` stream and
 * string decoder per event cost the client processes more CPU per event than the
 * gateway's write, on the cores the gateway shares). The arrival time of an event is
 * taken as soon as its bytes are read from the socket, as before.
 */
function openOne (args: OpenArgs): Promise<boolean> {
  return new Promise((resolve) => {
    const index = streams.length
    const url = new URL(args.url)
    const socket = net.connect({ host: url.hostname, port: Number(url.port), ...(args.localAddress === undefined ? {} : { localAddress: args.localAddress }) })
    const s: Stream = { startedAt: monoMs(), firstEventAt: 0, version: 0, rest: '', open: true, socket }
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
    let head = ''
    let body: BodyReader | null = null
    socket.on('data', (buf: Buffer) => {
      const at = monoMs()
      let from = 0
      if (body === null) {
        head += buf.toString('latin1', 0, buf.length)
        const endOfHead = head.indexOf('\r\n\r\n')
        if (endOfHead === -1) return
        const status = Number(head.slice(9, 12))
        if (status !== 200) {
          noteError(new Error(`HTTP ${status}`))
          socket.destroy()
          end()
          return
        }
        body = new BodyReader(/\r\ntransfer-encoding:\s*chunked/i.test(head.slice(0, endOfHead)))
        from = buf.length - (head.length - endOfHead - 4)
        head = ''
      }
      const text = body.read(buf, from)
      bytes += text.length
      onFrames(index, s, text, at)
      if (s.firstEventAt !== 0) {
        if (args.pause === true && !settled) socket.pause()
        settle(true)
      }
    })
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
    for (const s of streams) if (s.open) s.socket.destroy()
    return { open: openCount() }
  }
})

emitEvent('ready', { pid: process.pid })
