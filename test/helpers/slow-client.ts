/**
 * A client that opens a raw TCP connection, sends a request's headers and then trickles
 * its body one byte per `everyMs` — the slow-body attack — and records what the server
 * answers and when the connection closes.
 */
import { connect, type Socket } from 'node:net'

export interface SlowClient {
  socket: Socket
  /** Everything the server wrote back so far (latin1). */
  received: () => string
  /** True once the connection is closed. */
  closed: () => boolean
  /** Bytes of the body sent so far. */
  sent: () => number
  /** Resolves once the connection is closed. */
  done: Promise<void>
}

export interface SlowClientOptions {
  /** Local address to connect from (another loopback address: another client). */
  localAddress?: string
  /** Body length announced in `Content-Length` (default 1000: more than will ever be sent). */
  length?: number
  /** Interval between two body bytes (default 1000 ms). */
  everyMs?: number
}

/** Starts a slow POST of `path` to the server at `base` (`http://host:port`). */
export function slowPost (base: string, path: string, opts: SlowClientOptions = {}): SlowClient {
  const { hostname, port } = new URL(base)
  const socket = connect({ port: Number(port), host: hostname, ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }) })
  let received = ''
  let closed = false
  let sent = 0
  let timer: NodeJS.Timeout | undefined
  socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
  socket.on('error', () => { /* a reset: recorded as closed */ })
  const done = new Promise<void>((resolve) => {
    socket.once('close', () => {
      closed = true
      clearInterval(timer)
      resolve()
    })
  })
  socket.once('connect', () => {
    socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${opts.length ?? 1000}\r\n\r\n{`)
    sent = 1
    timer = setInterval(() => {
      if (socket.writable) {
        socket.write(' ')
        sent++
      }
    }, opts.everyMs ?? 1000)
  })
  return { socket, received: () => received, closed: () => closed, sent: () => sent, done }
}
