/**
 * trackgate's side of the day: the real tracking stack — `TrackingHub`, its pollers,
 * `Refresher`, `Allocator` (the poll allocator), snapshot store, bus, leases
 * and `SseStream` — on the virtual clock and the world's `MemoryQuota`. Only two
 * things are stand-ins:
 *
 * - the `CheckFn`: the world's check, which takes a quota slot and calls the simulator
 *   in-process, mirroring the upstream client (a refused slot throws the client's
 *   429 `TOO_MANY_REQUESTS` with `Retry-After`; no call is made). The client itself
 *   reads `Date.now()` and sends HTTP, so it cannot run in virtual time;
 * - each subscriber's HTTP response: an in-memory one that records every frame the
 *   hub writes, stamped with the virtual time — the instant the event left the gateway.
 */
import { EventEmitter } from 'node:events'
import type { ServerResponse } from 'node:http'
import { defaultConfig } from '../../src/config.js'
import { GatewayError } from '../../src/errors.js'
import { MemoryBus } from '../../src/state/bus/memory.js'
import { TrackingHub } from '../../src/tracking/hub.js'
import { MemoryLeaseStore } from '../../src/state/leases/memory.js'
import { Refresher, type CheckFn } from '../../src/tracking/refresher.js'
import { Allocator } from '../../src/tracking/allocator.js'
import { Poller } from '../../src/tracking/poller.js'
import { MemorySnapshotStore } from '../../src/state/snapshots/memory.js'
import { SseStream } from '../../src/tracking/sse-stream.js'
import { seededRandom } from './prng.js'
import type { Stamped } from './detection.js'
import { signatureOfCheck } from './signature.js'
import type { Tracker, WorldContext } from './world.js'
import { silentLogger } from '../../test/helpers/silent-logger.js'

const silent = silentLogger

/** An HTTP response that keeps what is written to it, stamped with the virtual time. */
class RecordingResponse extends EventEmitter {
  readonly frames: Array<{ at: number, text: string }> = []
  writableEnded = false
  destroyed = false
  readonly socket = null
  readonly writableLength = 0
  readonly #now: () => number

  constructor (now: () => number) {
    super()
    this.#now = now
  }

  setHeader (): this { return this }
  getHeaders (): Record<string, never> { return {} }
  getHeaderNames (): string[] { return [] }
  removeHeader (): void {}
  writeHead (): this { return this }

  write (chunk: string): boolean {
    this.frames.push({ at: this.#now(), text: chunk })
    return true
  }

  end (chunk?: string): this {
    if (this.writableEnded) return this
    if (chunk !== undefined && chunk !== '') this.frames.push({ at: this.#now(), text: chunk })
    this.writableEnded = true
    queueMicrotask(() => { this.emit('finish'); this.emit('close') })
    return this
  }

  destroy (): this {
    if (this.destroyed) return this
    this.destroyed = true
    queueMicrotask(() => { this.emit('close') })
    return this
  }
}

/** The snapshot states in recorded frames (`id:` + `data:` events; comments, `retry:`, `tracking` and `stop` skipped). */
function snapshotStates (frames: ReadonlyArray<{ at: number, text: string }>): Stamped[] {
  const out: Stamped[] = []
  for (const { at, text } of frames) {
    for (const block of text.split('\n\n')) {
      if (!block.startsWith('id: ')) continue
      const data = block.split('\n').find((line) => line.startsWith('data: '))
      if (data !== undefined) out.push({ at, sig: signatureOfCheck(JSON.parse(data.slice(6))) })
    }
  }
  return out
}

/** trackgate's tracker; `stretch()` gives the largest stretch factor the scheduler applied. */
export function trackgateTracker (ctx: WorldContext, seed: number): Tracker & { maxStretch: () => number } {
  const config = defaultConfig()
  const { clock } = ctx
  const random = seededRandom(seed ^ 0x5EED)
  const check: CheckFn = async (trackcode) => {
    const attempt = await ctx.check(trackcode)
    if (attempt.refused) {
      const seconds = Math.max(1, Math.ceil((attempt.retryAt - clock.now()) / 1000))
      throw new GatewayError(429, 'TOO_MANY_REQUESTS', `The upstream daily quota is used up; retry in ${seconds} s`, { headers: { 'retry-after': String(seconds) } })
    }
    return { statusCode: attempt.statusCode, raw: attempt.raw, body: attempt.body, ...(attempt.retryAfter === undefined ? {} : { retryAfter: attempt.retryAfter }) }
  }
  const timings = { pollIntervalMs: config.pollIntervalMs, pollWaitingPaymentMs: config.pollWaitingPaymentMs, pollMaxIntervalMs: config.pollMaxIntervalMs }
  const store = new MemorySnapshotStore({ now: () => clock.now() })
  const bus = new MemoryBus()
  const refresher = new Refresher({
    check,
    store,
    bus,
    clock,
    pausedUntil: async () => (await ctx.quota.state()).pausedUntil,
    retryMs: { refused: config.pollIntervalMs, rateLimited: config.pollMaxIntervalMs },
    onChecked: (code, order, sentAt) => { allocator.observe(code, order, sentAt) },
    notFoundCacheMs: config.notFoundCacheMs,
    snapshotTtlMs: config.finalCacheMs,
    log: silent
  })
  const lease = new MemoryLeaseStore(() => clock.now())
  const shutdown = new AbortController()
  // The refresher (above) shows the allocator every check made.
  const allocator: Allocator = new Allocator({
    // The pollers' partition of the world's quota, as `pollPartition` (src/tracking/index.ts) reads it.
    partition: {
      async state () {
        const q = await ctx.quota.state()
        return { limit: q.partitions.poll.limit, used: q.partitions.poll.used, windowMs: q.windowMs ?? 86_400_000, pausedUntil: q.pausedUntil }
      }
    },
    clock,
    timings,
    log: silent,
    executor: (code, initial) => new Poller({ trackcode: code, refresher, bus, lease, owner: 'bench', clock, timings, signal: shutdown.signal, log: silent, random }, initial)
  })
  ;(globalThis as any).zzAlloc = allocator
  if (process.env.ZZ_DEBUG !== undefined) { const tick = (): void => { const st = allocator.state(); console.log(((clock.now() - 1755669600000) / 3600000).toFixed(1), JSON.stringify(st.budget), st.orders, st.watched); clock.setTimeout(tick, 3 * 3600000) }; clock.setTimeout(tick, 3 * 3600000) }
  const hub = new TrackingHub({
    settings: { pollerGraceMs: config.pollerGraceMs, sseHeartbeatMs: config.sseHeartbeatMs, sseRetryMs: config.sseRetryMs, finalCacheMs: config.finalCacheMs },
    refresher,
    allocator,
    store,
    bus,
    clock,
    log: silent,
    random
  })
  const responses = new Map<string, RecordingResponse>()
  // The allocator stretches nothing (kept for the report's shape).
  const maxStretch = 1

  return {
    async follow (trackcode) {
      const res = new RecordingResponse(() => clock.now())
      responses.set(trackcode, res)
      await hub.subscribe(trackcode, undefined, () => new SseStream(res as unknown as ServerResponse, {
        onClose: (stream) => { hub.detach(trackcode, stream) },
        onStall: (stream) => { hub.stalled(trackcode, stream) }
      }))
    },
    leave (trackcode) {
      responses.get(trackcode)?.destroy()
    },
    events (trackcode) {
      const res = responses.get(trackcode)
      return res === undefined ? [] : snapshotStates(res.frames)
    },
    close () {
      ;(globalThis as any).zzLast = allocator.state()
      hub.close()
      allocator.close()
      shutdown.abort()
    },
    maxStretch: () => maxStretch
  }
}
