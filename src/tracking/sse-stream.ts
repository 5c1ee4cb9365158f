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
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { HEARTBEAT_FRAME } from './frames.js'

/** What a frame is, for the backpressure policy. */
export type FrameKind = 'snapshot' | 'tracking' | 'heartbeat'

/** Options of {@link SseStream}. */
export interface SseStreamOptions {
  /** Extra response headers (e.g. CORS ones set by hooks); the SSE headers win over them. */
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
  'x-accel-buffering': 'no'
})

/** The HTTP/2 stream under a response, when it is an `Http2ServerResponse` (`TLS_CERT_FILE`). */
function http2Session (res: ServerResponse): { close: () => void } | undefined {
  return (res as unknown as { stream?: { session?: { close: () => void } } }).stream?.session
}

/** A subscriber's stream; see the module comment. */
export class SseStream {
  readonly #res: ServerResponse
  readonly #opts: SseStreamOptions
  #closed = false
  #lagging = false
  #heldSnapshot: string | null = null
  #heldTracking: string | null = null
  #stalls = 0

  constructor (res: ServerResponse, opts: SseStreamOptions = {}) {
    this.#res = res
    this.#opts = opts
    res.once('close', () => {
      if (this.#closed) return
      this.#closed = true
      this.#heldSnapshot = null
      this.#heldTracking = null
      this.#opts.onClose?.(this)
    })
    // A write racing a client reset must not become an uncaught error.
    res.on('error', () => {})
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
    // setHeader (not writeHead's argument) so the headers stay readable with getHeader().
    const h2 = http2Session(this.#res) !== undefined
    for (const [name, value] of Object.entries({ ...this.#opts.headers, ...SSE_HEADERS })) {
      if (value !== undefined && !(h2 && name === 'connection')) this.#res.setHeader(name, value)
    }
    this.#res.writeHead(200)
    this.#write(first)
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
    if (this.#res.write(frame)) return
    this.#lagging = true
    this.#stalls++
    this.#res.once('drain', () => { this.#flush() })
    this.#opts.onStall?.(this)
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
