/**
 * Benchmark-only variant of `GET /orders/:trackcode/subscribe` built on `@fastify/sse`
 * (the plugin the project card names), served next to the real route at
 * `/bench/sse-plugin/orders/:trackcode/subscribe` by `gateway-process.ts` when
 * `BENCH_SSE_VARIANT=plugin`, so the fan-out benchmark can measure both writers in the
 * same run. Not product code: the product keeps its own writer (`src/tracking/sse-stream.ts`)
 * unless these figures say otherwise (see BENCHMARKS.md, "the SSE plugin").
 *
 * The route is written as the plugin intends: `sse: 'only'`, `reply.sse.keepAlive()`,
 * every event sent with `reply.sse.send({ id, event, data, retry })` (the plugin
 * formats it per reply), the plugin's own heartbeat (one interval per connection,
 * `SSE_HEARTBEAT_MS`), its own backpressure (each `send` waits for `drain`, nothing is
 * dropped, there is no stall hook). It is given every advantage the plugin allows: the
 * hub's frames are parsed into messages once per frame (not per subscriber) and the
 * serializer is the identity, so no JSON is re-serialized per subscriber. Everything
 * else — hub, admission, topics, fan-out — is the product's.
 */
import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { fastifySSE } from '@fastify/sse'
import type { TrackingHub } from '../src/tracking/hub.js'
import { SseStream, type FrameKind } from '../src/tracking/sse-stream.js'

/** What `reply.sse.send()` takes. */
interface SseMessage { id?: string, event?: string, data: string | undefined, retry?: number }

/** The part of the plugin's `reply.sse` the adapter uses. */
interface PluginContext {
  readonly isConnected: boolean
  keepAlive: () => void
  send: (message: SseMessage) => Promise<void>
  close: () => void
}

let cachedFrame = ''
let cachedMessages: SseMessage[] = []

/** A hub frame (one or more events) as the plugin's messages; the last frame's are kept. */
function messagesOf (frame: string): SseMessage[] {
  if (frame === cachedFrame) return cachedMessages
  const out: SseMessage[] = []
  for (const block of frame.split('\n\n')) {
    if (block === '' || block.startsWith(':')) continue
    // `data` present but undefined: the plugin then writes the other fields alone (a lone `retry:`).
    const m: SseMessage = { data: undefined }
    for (const line of block.split('\n')) {
      const colon = line.indexOf(': ')
      const field = line.slice(0, colon)
      const value = line.slice(colon + 2)
      if (field === 'id') m.id = value
      else if (field === 'event') m.event = value
      else if (field === 'retry') m.retry = Number(value)
      else if (field === 'data') m.data = value
    }
    out.push(m)
  }
  cachedFrame = frame
  cachedMessages = out
  return out
}

/** The hub's stream interface over `reply.sse`. */
class PluginStream extends SseStream {
  readonly #sse: PluginContext
  readonly #raw: ServerResponse

  constructor (raw: ServerResponse, sse: PluginContext, onClose: (stream: SseStream) => void) {
    super(raw, { onClose })
    this.#raw = raw
    this.#sse = sse
  }

  override get closed (): boolean {
    return !this.#sse.isConnected || this.#raw.writableEnded || this.#raw.destroyed
  }

  override get lagging (): boolean {
    return false
  }

  override get stalls (): number {
    return 0
  }

  override get bufferedBytes (): number {
    return this.#raw.writableLength
  }

  override open (first: string): void {
    this.#sendAll(first)
  }

  override send (frame: string, _kind: FrameKind): void {
    this.#sendAll(frame)
  }

  /** The plugin runs its own heartbeat per connection. */
  override heartbeat (): void {}

  override finish (...frames: string[]): void {
    if (this.closed) return
    for (const f of frames) this.#sendAll(f)
    this.#sse.close()
  }

  override hangUp (...frames: string[]): void {
    if (this.closed) return
    const socket = this.#raw.socket
    this.finish(...frames)
    if (socket !== null) this.#raw.once('finish', () => { socket.end() })
  }

  override close (): void {
    this.#sse.close()
  }

  override destroy (): void {
    this.#raw.destroy()
  }

  #sendAll (frame: string): void {
    if (this.closed) return
    for (const m of messagesOf(frame)) this.#sse.send(m).catch(() => {})
  }
}

/** Registers the variant route on `app` (after `buildApp`, before `listen`). */
export async function registerSsePluginRoute (app: FastifyInstance, hub: TrackingHub, heartbeatMs: number): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(fastifySSE, { heartbeatInterval: heartbeatMs, serializer: (data: unknown) => String(data) })
    scope.get<{ Params: { trackcode: string } }>('/bench/sse-plugin/orders/:trackcode/subscribe', { sse: 'only' } as never, async (request, reply) => {
      const { trackcode } = request.params
      const raw = request.headers['last-event-id']
      const lastEventId = typeof raw === 'string' && raw.length <= 32 ? raw.trim() : undefined
      const sse = (reply as unknown as { sse: PluginContext }).sse
      await hub.subscribe(trackcode, lastEventId, () => {
        if (request.raw.destroyed || reply.raw.destroyed) return null
        sse.keepAlive()
        app.lifecycle.streaming(reply.raw)
        return new PluginStream(reply.raw, sse, (stream) => { hub.detach(trackcode, stream) })
      }, { ip: request.ip })
    })
  })
}
