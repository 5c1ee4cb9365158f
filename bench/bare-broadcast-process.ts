/**
 * Benchmark child: the delivery floor of the fan-out — a bare `node:http` server that
 * does nothing but the gateway's broadcast, so that the time the machine itself needs
 * to hand one frame to N loopback streams is measured in the same run, with the same
 * load clients, as the gateway's delivery.
 *
 * It is the cheapest honest way to send one pre-built frame to N open streams with
 * Node's public API, and the same minimal thing the gateway's writer does
 * (`src/tracking/sse-stream.ts`): the frame is built once (`snapshotFrame` of
 * `src/tracking/frames.ts`), encoded once as one HTTP/1.1 chunk into a `Buffer` (the
 * writer's own `encodeChunk`), and written with one `socket.write` per stream, straight
 * to the socket under the response, in one synchronous loop over an array. No routing,
 * no hooks, no topic, no backpressure policy, no heartbeat (a stream whose socket is
 * backed up is only counted).
 *
 * `GET /subscribe` answers the gateway's SSE head (`SSE_HEADERS`) and, in the same
 * write, `retry: 3000` and the current version's snapshot (as the gateway greets a
 * subscriber), then keeps the stream. Versions are `id:` numbers, as the load clients' `watch` expects.
 *
 * IPC commands:
 * - `broadcast {version, frameBytes?}` → builds the snapshot frame of `version` whose
 *   JSON is padded so that the frame is `frameBytes` bytes (default 830, the gateway's
 *   size), notes `publishedAt` (monotonic ms, `lib/time.ts`), writes it to every open
 *   stream, notes `fannedOutAt`, and `flushedAt` at the next check phase (like the
 *   gateway's timed bus): `{version, frameBytes, streams, backedUp, publishedAt, fannedOutAt, flushedAt}`;
 * - `stats` → `{streams}`.
 * `ready` event: `{ url }`.
 */
import http from 'node:http'
import type { Socket } from 'node:net'
import { snapshotFrame } from '../src/tracking/frames.js'
import { encodeChunk, SSE_HEADERS } from '../src/tracking/sse-stream.js'
import { emitEvent, serveIpc } from './lib/ipc.js'
import { monoMs } from './lib/time.js'

/** The frame size the gateway's rounds have (`frameBytes` of its results). */
const DEFAULT_FRAME_BYTES = 830

/** The sockets of the open streams (the order in which they subscribed). */
const sockets: Socket[] = []
let version = 1
let frame = frameOf(version, DEFAULT_FRAME_BYTES)

/** The snapshot frame of `v` with a JSON padded so that the frame is `bytes` bytes (at least the unpadded size). */
function frameOf (v: number, bytes: number): string {
  const bare = JSON.stringify({ trackcode: 'BARE000000000000', version: v, pad: '' })
  const pad = Math.max(0, bytes - Buffer.byteLength(snapshotFrame(v, bare)))
  return snapshotFrame(v, JSON.stringify({ trackcode: 'BARE000000000000', version: v, pad: 'x'.repeat(pad) }))
}

const server = http.createServer((req, res) => {
  if (req.method !== 'GET' || req.url !== '/subscribe') {
    res.writeHead(404).end()
    return
  }
  res.writeHead(200, SSE_HEADERS)
  res.write(`retry: 3000\n\n${frame}`)
  const socket = res.socket
  // Frames are written as raw chunks: a response Node did not make chunked is refused (the client sees its stream end).
  if (socket === null || (res as http.ServerResponse & { chunkedEncoding?: boolean }).chunkedEncoding !== true) {
    res.destroy()
    return
  }
  sockets.push(socket)
  res.on('close', () => {
    const i = sockets.indexOf(socket)
    if (i !== -1) sockets.splice(i, 1)
  })
  res.on('error', () => {})
})

async function broadcast (args: unknown): Promise<Record<string, number>> {
  const { version: v, frameBytes } = args as { version: number, frameBytes?: number }
  version = v
  frame = frameOf(v, frameBytes ?? DEFAULT_FRAME_BYTES)
  const chunk = encodeChunk(frame)
  const publishedAt = monoMs()
  let backedUp = 0
  for (let i = 0; i < sockets.length; i++) if (!(sockets[i] as Socket).write(chunk)) backedUp++
  const fannedOutAt = monoMs()
  const flushedAt = await new Promise<number>((resolve) => { setImmediate(() => { resolve(monoMs()) }) })
  return { version: v, frameBytes: Buffer.byteLength(frame), streams: sockets.length, backedUp, publishedAt, fannedOutAt, flushedAt }
}

serveIpc({
  broadcast,
  stats: () => ({ streams: sockets.length })
})

process.on('SIGTERM', () => {
  for (const s of sockets) s.destroy()
  server.close(() => process.exit(0))
})

server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  emitEvent('ready', { url: `http://127.0.0.1:${port}` })
})
