/**
 * Benchmark child: the gateway exactly as `src/server.ts` builds it (configuration
 * from the environment), in its own process so its RSS and CPU are its own.
 *
 * One instrument is added: the tracking bus is the in-process `MemoryBus`, wrapped to
 * note, for each new snapshot version, the machine's monotonic time (see
 * `lib/time.ts`) just before the version is handed to the hub (`publishedAt`: the
 * zero of "delivery latency"), just after the hub's synchronous fan-out loop queued it
 * on every subscriber's response (`fannedOutAt`), and when the event loop next reaches
 * its check phase (`flushedAt`): Node sends a chunked response's writes from
 * `process.nextTick` callbacks (the socket is corked for the tick), all of which have
 * run by then, so every frame has been handed to the kernel.
 *
 * With `BENCH_SSE_VARIANT=plugin`, the `@fastify/sse` variant of the subscribe route
 * (`sse-plugin-route.ts`) is served too, at `/bench/sse-plugin/orders/:trackcode/subscribe`.
 *
 * IPC commands: `stats` (tracking counters, `process.memoryUsage()`, `process.cpuUsage()`),
 * `gc` (a full collection; the process runs with `--expose-gc`), `published` (the
 * notes above), `heapSnapshot {path}` (after a GC), `flood {trackcode, count, bytes}`
 * (publishes `count` synthetic versions of about `bytes` each on the bus, as if upstream
 * had changed that often: for the slow-reader measurement), `shutdown` (the graceful
 * shutdown `src/server.ts` runs on SIGTERM; answers with its duration in ms).
 * `ready` event: `{ url }`.
 */
import { writeHeapSnapshot } from 'node:v8'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { type BusMessage } from '../src/state/bus/index.js'
import { MemoryBus } from '../src/state/bus/memory.js'
import { snapshotFrame } from '../src/tracking/frames.js'
import { collectGarbage, emitEvent, serveIpc } from './lib/ipc.js'
import { monoMs } from './lib/time.js'
import { registerSsePluginRoute } from './sse-plugin-route.js'

/** When a version of an order was published (monotonic ms). */
export interface PublishedVersion {
  trackcode: string
  version: number
  status: string
  /** Bytes of the event frame. */
  frameBytes: number
  publishedAt: number
  fannedOutAt: number
  /** 0 until the writes were flushed. */
  flushedAt: number
}

class TimedBus extends MemoryBus {
  readonly published: PublishedVersion[] = []

  override async publish (message: BusMessage): Promise<void> {
    if (message.kind !== 'snapshot') return await super.publish(message)
    const publishedAt = monoMs()
    const done = super.publish(message)
    // MemoryBus delivers synchronously: by now every subscriber's write was issued.
    const fannedOutAt = monoMs()
    const entry: PublishedVersion = { trackcode: message.trackcode, version: message.version, status: message.status, frameBytes: Buffer.byteLength(message.frame), publishedAt, fannedOutAt, flushedAt: 0 }
    this.published.push(entry)
    setImmediate(() => { entry.flushedAt = monoMs() })
    await done
  }
}

const bus = new TimedBus()
const config = loadConfig()
const app = await buildApp(config, { state: { bus } })
if (process.env.BENCH_SSE_VARIANT === 'plugin') await registerSsePluginRoute(app, app.tracking, config.sseHeartbeatMs)
let floodVersion = 1_000_000

serveIpc({
  stats: () => ({ tracking: app.tracking.stats(), memory: process.memoryUsage(), cpu: process.cpuUsage() }),
  gc: collectGarbage,
  published: () => bus.published,
  heapSnapshot: (args) => {
    collectGarbage()
    return writeHeapSnapshot((args as { path: string }).path)
  },
  flood: async (args) => {
    const { trackcode, count, bytes } = args as { trackcode: string, count: number, bytes: number }
    for (let i = 0; i < count; i++) {
      const version = ++floodVersion
      const json = JSON.stringify({ version, pad: 'x'.repeat(bytes) })
      await bus.publish({ kind: 'snapshot', trackcode, version, status: 'WaitingForPayment', json, frame: snapshotFrame(version, json) })
    }
    return { published: count }
  },
  shutdown: async () => {
    const t0 = monoMs()
    await app.lifecycle.shutdown({ timeoutMs: 30_000 })
    return monoMs() - t0
  }
})

process.on('SIGTERM', () => {
  app.close().then(() => process.exit(0), () => process.exit(1))
})

const url = await app.listen({ host: config.host, port: config.port, backlog: 4096 })
emitEvent('ready', { url })
