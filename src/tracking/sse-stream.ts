/**
 * One subscriber's event stream: a lean writer over the raw HTTP response.
 *
 * Why not `@fastify/sse`'s `reply.sse`: the hub writes the *same* pre-built frame
 * string to thousands of subscribers, while `reply.sse.send()` re-formats (splits and
 * re-prefixes) every message per reply, returns a promise per send that can hang on
 * a socket closed under backpressure, and arms one heartbeat interval per connection.
 * Here a subscriber costs one small object and one `close` listener; frames are
 * written as they are; the hub runs one heartbeat timer for everyone; and a slow
 * reader never blocks the others:
 *
 * - writes never wait: while the socket is backed up (`write()` returned false), only
 *   the *latest* snapshot and the latest `tracking` state are held back (each snapshot
 *   is the whole order, so skipping an intermediate one loses nothing) and heartbeats
 *   are dropped; the held frames go out on `drain`. Memory per stalled subscriber is
 *   therefore bounded by two frames plus the socket's own buffer.
 * - `onStall` is told each time a stream starts lagging, so a policy (the hub's default
 *   disconnects streams that stay stalled, see `stall-guard.ts`) can be plugged in.
 * - `hangUp()` ends the response *and* the connection, for farewells (shutdown,
 *   rotation): the browser's reconnection then opens a new connection, which a load
 *   balancer can send to another instance, instead of reusing this one.
 *
 * Cost per stream (see BENCHMARKS.md, "where a subscriber's memory goes"): the head
 * carries only the headers an event stream needs — the SSE ones, `X-Content-Type-Options`,
 * CORS and the gateway's own (`Trackgate-*`); the document-only security headers set
 * for every response (CSP, HSTS, frame and cross-origin policies…) are taken off, as
 * they mean nothing for `text/event-stream` and Node keeps a response's headers for its
 * whole life. Nothing of the options is kept once the stream is open but the two
 * callbacks. Over HTTP/1.1 (chunked), a frame is written straight to the socket as one
 * chunk encoded once for every subscriber ({@link chunkOf}): one `write` and no
 * per-subscriber string encoding, where `res.write()` would queue four pieces and
 * encode the frame again for each socket. Other transports (HTTP/1.0, HTTP/2) go
 * through `res.write()`.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { HEARTBEAT_FRAME } from './frames.js'

/** What a frame is, for the backpressure policy. */
export type FrameKind = 'snapshot' | 'tracking' | 'heartbeat'

/** Options of {@link SseStream}. */
export interface SseStreamOptions {
  /**
   * Extra response headers (e.g. CORS ones set by hooks); the SSE headers win over them
   * and {@link DOCUMENT_ONLY_HEADERS} are left out. Used by `open()`, not kept.
   */
  headers?: OutgoingHttpHeaders
  /** Called once when the connection closes, whoever closed it. */
  onClose?: (stream: SseStream) => void
  /** Called when the stream starts lagging (its socket buffer is full). */
  onStall?: (stream: SseStream) => void
}

/** The response headers of an event stream (over HTTP/2, less `connection`, which it forbids). */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
  'x-content-type-options': 'nosniff'
})

/** The HTTP/2 stream under a response, when it is an `Http2ServerResponse` (`TLS_CERT_FILE`). */
function http2Session (res: ServerResponse): { close: () => void } | undefined {
  return (res as unknown as { stream?: { session?: { close: () => void } } }).stream?.session
}

/**
 * Security headers meant for documents (set on every response by `@fastify/helmet`):
 * an event stream is not rendered, framed or navigated to, so they are not sent on it.
 */
export const DOCUMENT_ONLY_HEADERS: ReadonlySet<string> = new Set([
  'content-security-policy',
  'cross-origin-embedder-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'strict-transport-security',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection'
])

const HEARTBEAT_CHUNK = encodeChunk(HEARTBEAT_FRAME)
let cachedFrame = HEARTBEAT_FRAME
let cachedChunk = HEARTBEAT_CHUNK

/** `frame` as one HTTP/1.1 chunk (size line, bytes, CRLF). */
export function encodeChunk (frame: string): Buffer {
  const bytes = Buffer.byteLength(frame)
  return Buffer.from(`${bytes.toString(16)}\r\n${frame}\r\n`, 'utf8')
}

/**
 * The chunk of `frame`, encoded once: a fan-out writes the same frame string to every
 * subscriber, so the last frame's chunk is kept (and the heartbeat's, always).
 */
function chunkOf (frame: string): Buffer {
  if (frame === HEARTBEAT_FRAME) return HEARTBEAT_CHUNK
  if (frame !== cachedFrame) {
    cachedChunk = encodeChunk(frame)
    cachedFrame = frame
  }
  return cachedChunk
}

/** A subscriber's stream; see the module comment. */
export class SseStream {
  readonly #res: ServerResponse
  #headers: OutgoingHttpHeaders | undefined
  readonly #onClose: ((stream: SseStream) => void) | undefined
  readonly #onStall: ((stream: SseStream) => void) | undefined
  /** The socket frames go to as raw chunks (HTTP/1.1 chunked), once the head is out. */
  #socket: Socket | null = null
  #closed = false
  #lagging = false
  #heldSnapshot: string | null = null
  #heldTracking: string | null = null
  #stalls = 0

  constructor (res: ServerResponse, opts: SseStreamOptions = {}) {
    this.#res = res
    this.#headers = opts.headers
    this.#onClose = opts.onClose
    this.#onStall = opts.onStall
    // `on`, not `once` (which wraps the listener in a bound function and a state object): 'close' is emitted once.
    res.on('close', () => {
      if (this.#closed) return
      this.#closed = true
      this.#socket = null
      this.#heldSnapshot = null
      this.#heldTracking = null
      this.#onClose?.(this)
    })
    // A write racing a client reset must not become an uncaught error.
    res.on('error', ignore)
  }

  /** True once the connection is gone or ended. */
  get closed (): boolean {
    return this.#closed || this.#res.writableEnded || this.#res.destroyed || this.#res.socket?.destroyed === true
  }

  /** True while frames are being held back for a slow reader. */
  get lagging (): boolean {
    return this.#lagging
  }

  /** Times the stream started lagging (tells one stall episode from the next). */
  get stalls (): number {
    return this.#stalls
  }

  /** Bytes written but not yet handed to the operating system. */
  get bufferedBytes (): number {
    return this.#res.writableLength
  }

  /** Sends the status line and headers, and `first` (e.g. the `retry:` hint) in the same packet. */
  open (first: string): void {
    if (this.closed) return
    const res = this.#res
    const extra = this.#headers
    this.#headers = undefined
    // Headers set on the raw response by hooks (helmet) are sorted like the others.
    const head: Record<string, string | number | readonly string[]> = {}
    const add = (from: OutgoingHttpHeaders): void => {
      for (const [name, value] of Object.entries(from)) {
        const key = name.toLowerCase()
        if (value !== undefined && !DOCUMENT_ONLY_HEADERS.has(key)) head[key] = value
      }
    }
    add(res.getHeaders())
    if (extra !== undefined) add(extra)
    Object.assign(head, SSE_HEADERS)
    if (http2Session(res) !== undefined) {
      // HTTP/2 (`TLS_CERT_FILE`): no connection-level headers; the compatibility
      // response keeps its own header table, and frames go through `res.write()`.
      for (const name of res.getHeaderNames()) res.removeHeader(name)
      delete head.connection
      res.writeHead(200, head as OutgoingHttpHeaders)
      res.write(first)
      return
    }
    forgetHeaderTable(res)
    const flat: string[] = []
    for (const [name, value] of Object.entries(head)) {
      if (Array.isArray(value)) for (const v of value as readonly string[]) flat.push(name, v)
      else flat.push(name, String(value))
    }
    res.writeHead(200, flat)
    res.write(first)
    flattenHead(res)
    const chunked = (res as ServerResponse & { chunkedEncoding?: boolean }).chunkedEncoding === true
    if (chunked && res.socket !== null) this.#socket = res.socket
  }

  /** Queues `frame` for the client; see the module comment for what a lagging stream keeps. */
  send (frame: string, kind: FrameKind): void {
    if (this.closed) return
    if (this.#lagging) {
      if (kind === 'snapshot') this.#heldSnapshot = frame
      else if (kind === 'tracking') this.#heldTracking = frame
      return
    }
    this.#write(frame)
  }

  /** Sends the heartbeat comment. */
  heartbeat (): void {
    this.send(HEARTBEAT_FRAME, 'heartbeat')
  }

  /** Sends `frames` (after anything held back) and ends the response. */
  finish (...frames: string[]): void {
    if (this.closed) return
    let out = ''
    if (this.#heldSnapshot !== null) out += this.#heldSnapshot
    if (this.#heldTracking !== null) out += this.#heldTracking
    for (const f of frames) out += f
    this.#heldSnapshot = null
    this.#heldTracking = null
    this.#socket = null
    this.#res.end(out)
  }

  /**
   * Like {@link finish}, then closes the connection once the response is flushed, so
   * the client reconnects over a new connection.
   */
  hangUp (...frames: string[]): void {
    if (this.closed) return
    // Over HTTP/2 the connection is a session shared with the browser's other streams:
    // it is closed gracefully (GOAWAY: no new stream on it, the others run to their end).
    const session = http2Session(this.#res)
    const socket = this.#res.socket
    this.finish(...frames)
    if (session !== undefined) this.#res.once('finish', () => { session.close() })
    else if (socket !== null) this.#res.once('finish', () => { socket.end() })
  }

  /** Ends the stream without a further frame. */
  close (): void {
    if (!this.closed) this.#res.end()
  }

  /** Drops the connection at once (e.g. a subscriber that stays stalled). */
  destroy (): void {
    this.#res.destroy()
  }

  #write (frame: string): void {
    const socket = this.#socket
    if (socket !== null ? socket.write(chunkOf(frame)) : this.#res.write(frame)) return
    this.#lagging = true
    this.#stalls++
    // A raw chunk's backpressure is the socket's; `res.write()`'s is the response's.
    ;(socket ?? this.#res).once('drain', () => { this.#flush() })
    this.#onStall?.(this)
  }

  #flush (): void {
    this.#lagging = false
    if (this.closed) return
    const snapshot = this.#heldSnapshot
    const tracking = this.#heldTracking
    this.#heldSnapshot = null
    this.#heldTracking = null
    if (snapshot !== null) this.send(snapshot, 'snapshot')
    if (tracking !== null) this.send(tracking, 'tracking')
  }
}

function ignore (): void {}

/**
 * Node builds a response's head by string concatenation and keeps it (`_header`) for
 * the life of the response: a rope of some thirty string pieces. Once sent, it is only
 * looked at for being there, so a flat copy of the same text replaces the rope.
 */
function flattenHead (res: ServerResponse): void {
  const out = res as ServerResponse & { _header?: unknown, _headerSent?: boolean }
  if (out._headerSent === true && typeof out._header === 'string') out._header = Buffer.from(out._header, 'latin1').toString('latin1')
}

/**
 * Drops the header table hooks filled on `res` (their values were copied by the
 * caller), so that `writeHead(status, flat)` sends the given list as it is and Node
 * keeps no table of `[name, value]` pairs for the life of the stream. Where the table
 * cannot be found (another runtime), the headers are removed one by one instead.
 */
function forgetHeaderTable (res: ServerResponse): void {
  const symbol = Object.getOwnPropertySymbols(res).find((s) => s.description === 'kOutHeaders')
  if (symbol !== undefined) (res as unknown as Record<symbol, unknown>)[symbol] = null
  else for (const name of res.getHeaderNames()) res.removeHeader(name)
}
