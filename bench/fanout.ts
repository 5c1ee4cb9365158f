/**
 * Benchmark 1, fan-out: N concurrent SSE subscribers of one trackcode on one gateway
 * process, against the per-client proxy baseline (`baseline-proxy.ts`) at the same N.
 *
 * Processes: the simulator (upstream), the gateway (or the baseline proxy) and
 * `clients` load-client processes (`fanout-client.ts`), all separate, so the memory
 * and CPU read from `/proc` for the gateway are the gateway's alone.
 *
 * Per N, gateway run:
 * 1. memory reference: start the gateway, open `warmup` streams (code paths loaded and
 *    compiled), force a GC, read RSS and heap;
 * 2. set-up: open the other N − warmup streams from every client process at once (at most
 *    `concurrency` connection set-ups in flight per client); per stream, set-up time =
 *    request start → first event; overall time = first request → last first event;
 * 3. memory at N (after a forced GC): per subscriber = (RSS at N − RSS at warmup) / (N − warmup);
 * 4. hold `holdMs` with N open streams: upstream checks, gateway CPU, streams dropped;
 * 5. `rounds` upstream changes: a payment is recorded upstream; the gateway's poller sees
 *    it at its next check and publishes a new version; delivery latency of each
 *    subscriber = its arrival time − the moment the gateway handed that version to its
 *    hub (both on the machine's monotonic clock; see `gateway-process.ts`). Also
 *    reported: how long the gateway took to hand the frame to every socket (its part of
 *    the delivery), and payment → last subscriber (adds the wait for the next poll);
 * 6. upstream checks over hold + rounds vs the poll intervals in that window, and during
 *    the set-up (subscribing must cost no check beyond the poller's).
 * 7. slow readers (when `slowReaders` > 0): another order, `slowReaders` streams whose
 *    client stops reading after the first event, `floodVersions` versions of about
 *    `floodBytes` each published for it: the gateway memory they hold (RSS after a GC);
 * 8. shutdown: the graceful shutdown of SIGTERM (`app.lifecycle.shutdown`), timed from
 *    its start until every client saw its stream end.
 * With `ssePlugin`, steps 1–8 run again on the `@fastify/sse` variant of the subscribe
 * route (`sse-plugin-route.ts`) at the same N, and the two writers are compared.
 * With `floor`, the delivery floor at the same N, right after the gateway's run: a bare
 * `node:http` server doing nothing but the same broadcast (`bare-broadcast-process.ts`:
 * one pre-encoded chunk, one `socket.write` per stream, one loop), N streams opened by
 * fresh load-client processes (as many as the gateway's), one broadcast to warm the
 * write path, then as many rounds as the gateway's, half a poll interval apart, each
 * measured like the gateway's (arrival − the server's `publishedAt`). The gateway's
 * p99 ÷ the floor's is what the gateway adds to what this machine needs to deliver one
 * frame to N loopback streams.
 * Baseline run: steps 1–4 on the baseline proxy (its upstream calls are the point).
 */
import { BenchChild, assertFileDescriptors } from './lib/proc.js'
import type { BenchBuild } from './lib/build.js'
import { ratio, round, summarize, type Summary } from './lib/stats.js'
import { monoMs, sleep, waitFor } from './lib/time.js'
import { Deadline } from './lib/deadline.js'
import { BENCH_KEY, callsOf, startGatewayProcess, startSimulatorProcess, type BenchSimulator } from './lib/upstream-fixture.js'

const CHECK_ROUTE = 'POST /v1/orders/check'
/** Production polling interval (POLL_INTERVAL_MS default), for the calls-per-day projection. */
const PRODUCTION_INTERVAL_MS = 60_000
const DAY_MS = 86_400_000
/** Upstream's default daily quota. */
const DAILY_QUOTA = 1000

/** Options of {@link runFanout}. */
export interface FanoutOptions {
  /** Numbers of subscribers, one run each. */
  sizes: readonly number[]
  /** Load-client processes. */
  clients: number
  /** Connection set-ups in flight per client process. */
  concurrency: number
  /** Streams opened before the memory reference (capped at N / 10). */
  warmup: number
  /** The gateway's POLL_INTERVAL_MS (and POLL_WAITING_PAYMENT_MS) during the run. */
  pollIntervalMs: number
  /** The gateway's SSE_HEARTBEAT_MS (also the plugin variant's heartbeat interval). */
  heartbeatMs: number
  /** Also run the `@fastify/sse` variant of the route at each N. */
  ssePlugin: boolean
  /** Streams that stop reading, for the slow-reader measurement (0: none). */
  slowReaders: number
  /** Versions published to the slow readers' order. */
  floodVersions: number
  /** Approximate bytes of each of those versions. */
  floodBytes: number
  /** Upstream changes measured per N (also the delivery floor's broadcasts). */
  rounds: number
  /** Also measure the delivery floor (a bare broadcast) at each N. */
  floor: boolean
  /** Steady-state window with N streams open, ms. */
  holdMs: number
  /** Also run the per-client proxy baseline at each N. */
  baseline: boolean
  /** The baseline's per-subscriber polling interval, ms. */
  baselineIntervalMs: number
  /** The baseline's steady-state window, ms. */
  baselineHoldMs: number
  /** Hard limit of the whole benchmark, ms. */
  timeLimitMs: number
  build: BenchBuild
  log: (line: string) => void
}

/** How N streams were set up. */
export interface SetupFigures {
  /** Streams that got their first event. */
  opened: number
  failed: number
  errors: Record<string, number>
  /** First request → last first event of the N − warmup streams opened at once, ms. */
  totalMs: number
  /** Streams set up per second in that phase. */
  perSecond: number
  /** Request start → first event, per stream, ms. */
  perStream: Summary
  /** Server CPU during the set-up phase, % of one core. */
  cpuPercent: number
}

/** Memory of the server process. */
export interface MemoryFigures {
  /** RSS right after start, KiB. */
  rssIdleKb: number
  /** RSS with the warm-up streams open (the reference), KiB. */
  rssWarmKb: number
  /** RSS with N streams open, KiB. */
  rssKb: number
  /** (RSS at N − reference) / (N − warmup), KiB. */
  rssPerSubscriberKb: number
  /** The same without V8's young generation (sized by allocation rate, not by subscribers), KiB. */
  rssExclYoungPerSubscriberKb: number
  /** V8 heap in use per subscriber, bytes (same method). */
  heapPerSubscriberBytes: number
  /** V8 heap reserved (`heapTotal`: in use + free space of its pages) per subscriber, bytes. */
  heapTotalPerSubscriberBytes: number
  /** RSS outside the V8 heap per subscriber (RSS − heapTotal; libuv, parsers, malloc), bytes. */
  nonHeapPerSubscriberBytes: number
  /** Memory outside the V8 heap per subscriber (`external` + `arrayBuffers`), bytes. */
  externalPerSubscriberBytes: number
}

/** The steady state with N streams open. */
export interface HoldFigures {
  ms: number
  /** Upstream `/orders/check` calls in the window. */
  upstreamCalls: number
  upstreamCallsPerMinute: number
  /** Calls per polling interval of the server (gateway: `POLL_INTERVAL_MS`; baseline: its per-subscriber interval), all subscribers together. */
  callsPerInterval: number
  /** The same, per subscriber. */
  callsPerIntervalPerSubscriber: number
  /** Server CPU, % of one core. */
  cpuPercent: number
  /** Streams still open at the end (should be N). */
  open: number
}

/** One upstream change delivered to every subscriber. */
export interface RoundFigures {
  version: number
  frameBytes: number
  /** Subscribers that received this version / that were open. */
  received: number
  open: number
  /** Per subscriber: arrival − publication, ms. */
  latency: Summary
  /** Publication → last subscriber, ms. */
  publishToLastMs: number
  /** Synchronous fan-out loop in the gateway (the frame queued on every response), ms. */
  fanoutLoopMs: number
  /** Publication → every frame handed to the kernel (the gateway's part of the delivery), ms. */
  flushMs: number
  /** Payment recorded upstream → gateway publication (waiting for the next poll), ms. */
  payToPublishMs: number
  /** Payment → last subscriber, ms. */
  payToLastMs: number
  /** Gateway CPU used from the payment to the last arrival, ms. */
  cpuMs: number
  /** CPU the load-client processes used over the same span, ms (they share the gateway's cores). */
  clientCpuMs: number
}

/** Readers that stopped reading while versions kept coming. */
export interface SlowReaderFigures {
  readers: number
  versions: number
  frameBytes: number
  /** Gateway RSS after a GC, after the versions minus before them, per slow reader, KiB. */
  rssHeldPerReaderKb: number
  /** The same for V8 heap in use + external memory (where held frames live), bytes. */
  heapHeldPerReaderBytes: number
  /** Slow readers still connected at the end (a stall policy may have cut some). */
  stillOpen: number
}

/** The graceful shutdown with N streams open. */
export interface ShutdownFigures {
  /** `app.lifecycle.shutdown()` start → resolved, ms. */
  shutdownMs: number
  /** Start → every client saw its stream end, ms. */
  allClosedMs: number
  /** Streams still open 30 s after the start (should be 0). */
  leftOpen: number
}

/** Which subscribe route a gateway run measures. */
export type Writer = 'writer' | 'plugin'

/** The gateway at one N. */
export interface GatewayRun {
  writer: Writer
  setup: SetupFigures
  memory: MemoryFigures
  hold: HoldFigures
  rounds: RoundFigures[]
  /** Every subscriber of every round: arrival − publication, ms. */
  delivery: Summary
  /** Worst round's publication → last subscriber, ms. */
  publishToLastMaxMs: number
  /**
   * Upstream checks over hold + rounds: `calls` in `elapsedMs`; `pollsAtInterval` = elapsed ÷
   * POLL_INTERVAL_MS; `callsPerPoll` = calls ÷ that; `atMostOnePerPoll`: calls ≤ ⌊polls⌋ + 1
   * (a window cuts at most one poll in two).
   */
  upstream: { calls: number, elapsedMs: number, pollsAtInterval: number, callsPerPoll: number, atMostOnePerPoll: boolean }
  /** Versions published beyond one per payment, i.e. while nothing changed upstream (should be 0). */
  spuriousVersions: number
  /** Upstream checks while the N − warmup streams were being set up (the poller's own, no more). */
  setupUpstreamCalls: number
  slow?: SlowReaderFigures
  shutdown: ShutdownFigures
}

/** One broadcast of the bare server: a gateway round without the upstream part. */
export type FloorRoundFigures = Omit<RoundFigures, 'payToPublishMs' | 'payToLastMs'>

/** The delivery floor at one N: a bare `node:http` broadcast, same clients, same number of rounds. */
export interface FloorRun {
  /** Streams opened on the bare server, and failed. */
  opened: number
  failed: number
  rounds: FloorRoundFigures[]
  /** Every subscriber of every broadcast: arrival − publication, ms. */
  delivery: Summary
  /** Worst broadcast's publication → last subscriber, ms. */
  publishToLastMaxMs: number
  /** Writes that found their socket backed up, over every broadcast (0 expected: nothing else is sent). */
  backedUp: number
  /** Start of the bare server → its stop, ms (what the floor adds to the benchmark). */
  elapsedMs: number
}

/** Gateway ÷ floor, same N, same run (1: the gateway delivers as fast as the bare broadcast). */
export interface FloorRatios {
  deliveryP50: number
  deliveryP99: number
  /** Median over the rounds of each round's p99 (the p99 of all rounds is mostly the worst round's tail). */
  roundP99Median: number
  /** Worst round's publication → last subscriber. */
  publishToLastMax: number
  /** Mean synchronous loop over the rounds. */
  fanoutLoopMean: number
}

/** The gateway's p99 within this factor of the floor's counts as "at the floor" (a comparison, not the target). */
const FLOOR_MARGIN = 1.1
/** Longest the floor may take at one N, ms (it is context, not the measurement). */
const FLOOR_LIMIT_MS = 60_000

/** The baseline at one N. */
export interface BaselineRun {
  setup: SetupFigures
  memory: MemoryFigures
  hold: HoldFigures
  /** Upstream calls the set-up itself cost (one per subscriber). */
  setupUpstreamCalls: number
}

/** Figures at one N. */
export interface FanoutSize {
  n: number
  gateway: GatewayRun
  /** The `@fastify/sse` variant of the route, when run. */
  plugin?: GatewayRun
  /** Plugin ÷ writer (above 1: the plugin costs more), when run. */
  pluginRatios?: PluginRatios
  baseline?: BaselineRun
  /** The delivery floor (a bare broadcast at the same N, same run), when run. */
  floor?: FloorRun
  /** Gateway ÷ floor, when the floor was run. */
  floorRatios?: FloorRatios
  /** Upstream calls per day at the production interval (60 s), and vs the 1000/day quota. */
  projection: { gatewayCallsPerDay: number, baselineCallsPerDay: number, baselineQuotaMultiple: number }
  /** Baseline ÷ gateway. */
  ratios: { rssPerSubscriber: number, rssExclYoungPerSubscriber: number, upstreamCallsPerInterval: number, setupPerSecond: number, cpuHold: number }
}

/** The `@fastify/sse` variant against the product's writer, same N, same run. */
export interface PluginRatios {
  rssPerSubscriber: number
  deliveryP99: number
  cpuHold: number
  slowHeld: number
  shutdown: number
  /** Within 10 % on every figure. */
  withinTenPercent: boolean
}

/** Allowed excess of the plugin over the writer on each figure to adopt it. */
const ADOPT_MARGIN = 1.1

/** The whole fan-out benchmark's result. */
export interface FanoutResult {
  name: 'fanout'
  options: Omit<FanoutOptions, 'build' | 'log'>
  sizes: FanoutSize[]
  /** Largest N whose streams were all set up and all received every round. */
  largestNHeld: number
  targets: Array<{ target: string, value: string, met: boolean }>
}

/** Shares `total` among `parts` (the first ones get the remainder). */
function shares (total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0))
}

interface OpenResult { opened: number, failed: number, errors: Record<string, number>, setupMs: number[] }
interface WatchResult { version: number, received: number, open: number, arrivals: number[] }
interface ClientStatus { open: number, closed: number, failed: number, events: number, bytes: number, stops: number, errors: Record<string, number> }
interface MemoryUsage { rss: number, heapTotal: number, heapUsed: number, external: number, arrayBuffers: number, newSpace: number }
interface Published { trackcode: string, version: number, status: string, frameBytes: number, publishedAt: number, fannedOutAt: number, flushedAt: number }
interface Broadcast { version: number, frameBytes: number, streams: number, backedUp: number, publishedAt: number, fannedOutAt: number, flushedAt: number }

async function startClients (build: BenchBuild, count: number): Promise<BenchChild[]> {
  return await Promise.all(Array.from({ length: count }, async (_, i) => await BenchChild.start({
    name: `client-${i + 1}`,
    entry: build.entry('bench/fanout-client.ts')
  })))
}

function mergeErrors (into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v
}

/** Opens `n` streams spread over `clients` at once; set-up figures (CPU of `server`). */
async function openStreams (clients: BenchChild[], server: BenchChild, url: string, n: number, concurrency: number, deadline: Deadline): Promise<SetupFigures> {
  const cpu0 = server.cpuMs()
  const t0 = monoMs()
  const parts = shares(n, clients.length)
  const results = await Promise.all(clients.map(async (c, i) => {
    const count = parts[i] as number
    if (count === 0) return { opened: 0, failed: 0, errors: {}, setupMs: [] }
    return await c.call<OpenResult>('open', { url, count, concurrency }, deadline.cap(600_000))
  }))
  const totalMs = monoMs() - t0
  const cpuMs = server.cpuMs() - cpu0
  const errors: Record<string, number> = {}
  const setupMs: number[] = []
  let opened = 0
  let failed = 0
  for (const r of results) {
    opened += r.opened
    failed += r.failed
    mergeErrors(errors, r.errors)
    for (const v of r.setupMs) setupMs.push(v)
  }
  return { opened, failed, errors, totalMs: round(totalMs), perSecond: round(opened / (totalMs / 1000), 0), perStream: roundSummary(summarize(setupMs)), cpuPercent: round(100 * cpuMs / totalMs, 1) }
}

/**
 * What the clients saw of one version published at `pub.publishedAt` (a round of the
 * gateway or of the floor): how many got it, its delivery latencies (also appended to
 * `all`, the run's pool), when the last one arrived.
 */
function deliveryOf (watched: WatchResult[], pub: { publishedAt: number, fannedOutAt: number }, all: number[]): { received: number, open: number, latency: Summary, publishToLastMs: number, fanoutLoopMs: number, last: number } {
  const arrivals = watched.flatMap((w) => w.arrivals)
  const lat = arrivals.map((a) => a - pub.publishedAt)
  for (const v of lat) all.push(v)
  const last = arrivals.reduce((m, a) => Math.max(m, a), Number.NEGATIVE_INFINITY)
  return {
    received: arrivals.length,
    open: watched.reduce((s, w) => s + w.open, 0),
    latency: roundSummary(summarize(lat)),
    publishToLastMs: round(last - pub.publishedAt),
    fanoutLoopMs: round(pub.fannedOutAt - pub.publishedAt),
    last
  }
}

function roundSummary (s: Summary, digits = 2): Summary {
  return { count: s.count, min: round(s.min, digits), mean: round(s.mean, digits), p50: round(s.p50, digits), p90: round(s.p90, digits), p99: round(s.p99, digits), max: round(s.max, digits) }
}

async function openCount (clients: BenchChild[]): Promise<number> {
  const all = await Promise.all(clients.map(async (c) => await c.call<ClientStatus>('status')))
  return all.reduce((n, s) => n + s.open, 0)
}

async function memoryAfterGc (server: BenchChild): Promise<{ rssKb: number, usage: MemoryUsage }> {
  const usage = await server.call<MemoryUsage>('gc', undefined, 60_000)
  // Let the collector's freed pages settle before reading the kernel's figure.
  await sleep(200)
  return { rssKb: server.rssKb(), usage }
}

function memoryFigures (idleKb: number, warm: { rssKb: number, usage: MemoryUsage }, full: { rssKb: number, usage: MemoryUsage }, added: number): MemoryFigures {
  const per = (a: number, b: number): number => added > 0 ? (a - b) / added : Number.NaN
  return {
    rssIdleKb: idleKb,
    rssWarmKb: warm.rssKb,
    rssKb: full.rssKb,
    rssPerSubscriberKb: round(per(full.rssKb, warm.rssKb), 2),
    rssExclYoungPerSubscriberKb: round(per(full.rssKb - full.usage.newSpace / 1024, warm.rssKb - warm.usage.newSpace / 1024), 2),
    heapPerSubscriberBytes: round(per(full.usage.heapUsed, warm.usage.heapUsed), 0),
    heapTotalPerSubscriberBytes: round(per(full.usage.heapTotal, warm.usage.heapTotal), 0),
    nonHeapPerSubscriberBytes: round(per(full.rssKb * 1024 - full.usage.heapTotal, warm.rssKb * 1024 - warm.usage.heapTotal), 0),
    externalPerSubscriberBytes: round(per(full.usage.external + full.usage.arrayBuffers, warm.usage.external + warm.usage.arrayBuffers), 0)
  }
}

async function hold (sim: BenchSimulator, server: BenchChild, clients: BenchChild[], ms: number, intervalMs: number, subscribers: number): Promise<HoldFigures> {
  await sim.resetStats()
  const cpu0 = server.cpuMs()
  const t0 = monoMs()
  await sleep(ms)
  const elapsed = monoMs() - t0
  const cpuMs = server.cpuMs() - cpu0
  const calls = callsOf(await sim.stats(), CHECK_ROUTE)
  return {
    ms: round(elapsed, 0),
    upstreamCalls: calls,
    upstreamCallsPerMinute: round(calls * 60_000 / elapsed, 1),
    callsPerInterval: round(calls * intervalMs / elapsed, 3),
    callsPerIntervalPerSubscriber: round(calls * intervalMs / elapsed / Math.max(1, subscribers), 3),
    cpuPercent: round(100 * cpuMs / elapsed, 1),
    open: await openCount(clients)
  }
}

async function publishedOf (gateway: BenchChild, trackcode: string): Promise<Published[]> {
  return (await gateway.call<Published[]>('published')).filter((p) => p.trackcode === trackcode)
}

async function runGateway (sim: BenchSimulator, opts: FanoutOptions, n: number, deadline: Deadline, writer: Writer): Promise<GatewayRun> {
  const log = (line: string): void => { opts.log(writer === 'plugin' ? line.replace('gateway', 'gateway (@fastify/sse)') : line) }
  const warmup = Math.min(opts.warmup, Math.floor(n / 10))
  const prefix = writer === 'plugin' ? '/bench/sse-plugin' : ''
  const gateway = await startGatewayProcess(opts.build, sim.baseUrl, {
    POLL_INTERVAL_MS: String(opts.pollIntervalMs),
    POLL_WAITING_PAYMENT_MS: String(opts.pollIntervalMs),
    // A quota no run reaches: the fair-share stretching must not slow the polls measured.
    UPSTREAM_DAILY_QUOTA: '100000000',
    RATE_LIMIT_MAX: '0',
    SSE_HEARTBEAT_MS: String(opts.heartbeatMs),
    ...(writer === 'plugin' ? { BENCH_SSE_VARIANT: 'plugin' } : {})
  }, ['--expose-gc'])
  const clients = await startClients(opts.build, opts.clients)
  const slowClient = opts.slowReaders > 0 ? (await startClients(opts.build, 1))[0] : undefined
  try {
    const url = (gateway.ready as { url: string }).url
    const trackcode = await sim.createOrder()
    const streamUrl = `${url}${prefix}/orders/${trackcode}/subscribe`
    await sleep(300)
    const idle = await memoryAfterGc(gateway)

    log(`  gateway N=${n}: ${warmup} warm-up streams`)
    if (warmup > 0) {
      const w = await (clients[0] as BenchChild).call<OpenResult>('open', { url: streamUrl, count: warmup, concurrency: opts.concurrency }, deadline.cap(120_000))
      if (w.failed > 0) throw new Error(`warm-up streams failed: ${JSON.stringify(w.errors)}`)
    }
    const warm = await memoryAfterGc(gateway)

    log(`  gateway N=${n}: opening ${n - warmup} streams`)
    await sim.resetStats()
    const setup = await openStreams(clients, gateway, streamUrl, n - warmup, opts.concurrency, deadline)
    const setupUpstreamCalls = callsOf(await sim.stats(), CHECK_ROUTE)
    setup.opened += warmup
    const full = await memoryAfterGc(gateway)
    const memory = memoryFigures(idle.rssKb, warm, full, setup.opened - warmup)
    log(`  gateway N=${n}: ${setup.opened} open (${setup.failed} failed) in ${setup.totalMs} ms; RSS ${memory.rssKb} KiB, ${memory.rssPerSubscriberKb} KiB/subscriber`)

    const versionsBefore = (await publishedOf(gateway, trackcode)).length
    const cycleStart = monoMs()
    const held = await hold(sim, gateway, clients, deadline.cap(opts.holdMs), opts.pollIntervalMs, setup.opened)
    log(`  gateway N=${n}: hold ${held.ms} ms: ${held.upstreamCalls} upstream checks, CPU ${held.cpuPercent} %, ${held.open} open`)

    const rounds: RoundFigures[] = []
    const latencies: number[] = []
    for (let r = 0; r < opts.rounds; r++) {
      const known = await publishedOf(gateway, trackcode)
      const lastVersion = known.reduce((v, p) => Math.max(v, p.version), 0)
      const cpu0 = gateway.cpuMs()
      const clientCpu0 = clients.reduce((sum, c) => sum + c.cpuMs(), 0)
      const payAt = monoMs()
      await sim.pay(trackcode, '0.001')
      let next: Published | undefined
      await waitFor(`version ${lastVersion + 1} to be published`, async () => {
        next = (await publishedOf(gateway, trackcode)).find((p) => p.version > lastVersion)
        return next !== undefined
      }, deadline.cap(3 * opts.pollIntervalMs + 15_000), 20)
      const pub = next as Published
      const watched = await Promise.all(clients.map(async (c) => await c.call<WatchResult>('watch', { version: pub.version, timeoutMs: deadline.cap(30_000) }, deadline.cap(60_000))))
      const cpuMs = gateway.cpuMs() - cpu0
      const clientCpuMs = clients.reduce((sum, c) => sum + c.cpuMs(), 0) - clientCpu0
      const flushed = (await publishedOf(gateway, trackcode)).find((p) => p.version === pub.version) ?? pub
      const { last, ...seen } = deliveryOf(watched, pub, latencies)
      const figures: RoundFigures = {
        version: pub.version,
        frameBytes: pub.frameBytes,
        ...seen,
        flushMs: flushed.flushedAt > 0 ? round(flushed.flushedAt - pub.publishedAt) : Number.NaN,
        payToPublishMs: round(pub.publishedAt - payAt),
        payToLastMs: round(last - payAt),
        cpuMs: round(cpuMs, 0),
        clientCpuMs: round(clientCpuMs, 0)
      }
      rounds.push(figures)
      log(`  gateway N=${n}: round ${r + 1}: v${figures.version} to ${figures.received}/${figures.open}: p50 ${figures.latency.p50} ms, p99 ${figures.latency.p99} ms, last ${figures.publishToLastMs} ms (fan-out loop ${figures.fanoutLoopMs} ms, flushed after ${figures.flushMs} ms; CPU gateway ${figures.cpuMs} ms, clients ${figures.clientCpuMs} ms)`)
    }
    const elapsedMs = monoMs() - cycleStart
    // One version per payment; anything else was published while nothing changed upstream.
    const spuriousVersions = (await publishedOf(gateway, trackcode)).length - versionsBefore - rounds.length
    // Counters were reset at the start of the hold: everything since is hold + rounds.
    const calls = callsOf(await sim.stats(), CHECK_ROUTE)
    const pollsAtInterval = elapsedMs / opts.pollIntervalMs
    const slow = slowClient === undefined ? undefined : await slowReaders(sim, gateway, slowClient, `${url}${prefix}`, opts, deadline)
    if (slow !== undefined) log(`  gateway N=${n}: ${slow.readers} slow readers, ${slow.versions} versions of ${slow.frameBytes} B: ${slow.rssHeldPerReaderKb} KiB RSS held per reader, ${slow.stillOpen} still open`)
    const shutdown = await shutDown(gateway, clients, deadline)
    log(`  gateway N=${n}: shutdown in ${shutdown.shutdownMs} ms, every stream closed after ${shutdown.allClosedMs} ms (${shutdown.leftOpen} left open)`)
    return {
      writer,
      slow,
      shutdown,
      setup,
      memory,
      hold: held,
      rounds,
      delivery: roundSummary(summarize(latencies)),
      publishToLastMaxMs: rounds.reduce((m, r) => Math.max(m, r.publishToLastMs), 0),
      upstream: { calls, elapsedMs: round(elapsedMs, 0), pollsAtInterval: round(pollsAtInterval, 1), callsPerPoll: round(calls / pollsAtInterval, 3), atMostOnePerPoll: calls <= Math.floor(pollsAtInterval) + 1 },
      spuriousVersions,
      setupUpstreamCalls
    }
  } finally {
    await Promise.all([...clients, ...(slowClient === undefined ? [] : [slowClient])].map(async (c) => { await c.stop(2000) }))
    await gateway.stop(5000)
  }
}

/** Step 7: memory held by readers that stopped reading; see the module comment. */
async function slowReaders (sim: BenchSimulator, gateway: BenchChild, client: BenchChild, base: string, opts: FanoutOptions, deadline: Deadline): Promise<SlowReaderFigures> {
  const trackcode = await sim.createOrder()
  const r = await client.call<OpenResult>('open', { url: `${base}/orders/${trackcode}/subscribe`, count: opts.slowReaders, concurrency: opts.concurrency, pause: true }, deadline.cap(120_000))
  if (r.failed > 0) throw new Error(`slow-reader streams failed: ${JSON.stringify(r.errors)}`)
  const before = await memoryAfterGc(gateway)
  await gateway.call('flood', { trackcode, count: opts.floodVersions, bytes: opts.floodBytes }, deadline.cap(60_000))
  // Let the writes that can go out go out.
  await sleep(300)
  const after = await memoryAfterGc(gateway)
  const stillOpen = (await client.call<ClientStatus>('status')).open
  await client.call('closeAll')
  return {
    readers: r.opened,
    versions: opts.floodVersions,
    frameBytes: opts.floodBytes,
    rssHeldPerReaderKb: round((after.rssKb - before.rssKb) / r.opened, 2),
    heapHeldPerReaderBytes: round((after.usage.heapUsed + after.usage.external - before.usage.heapUsed - before.usage.external) / r.opened, 0),
    stillOpen
  }
}

/** Step 8: the graceful shutdown with every stream open. */
async function shutDown (gateway: BenchChild, clients: BenchChild[], deadline: Deadline): Promise<ShutdownFigures> {
  const t0 = monoMs()
  const shutdownMs = await gateway.call<number>('shutdown', undefined, deadline.cap(60_000))
  let left = Number.NaN
  try {
    await waitFor('every stream to end', async () => {
      left = await openCount(clients)
      return left === 0
    }, deadline.cap(30_000), 10)
  } catch {
    // Reported as leftOpen.
  }
  return { shutdownMs: round(shutdownMs), allClosedMs: round(monoMs() - t0), leftOpen: left }
}

/** The delivery floor at `n`; see the module comment. `frameBytes`: the gateway's frame size. */
async function runFloor (opts: FanoutOptions, n: number, frameBytes: number, deadline: Deadline): Promise<FloorRun> {
  const { log } = opts
  const t0 = monoMs()
  const limit = new Deadline(Math.min(FLOOR_LIMIT_MS, deadline.left()), `delivery floor at N=${n}`)
  const gapMs = floorGapMs(opts)
  const server = await BenchChild.start({ name: 'bare-broadcast', entry: opts.build.entry('bench/bare-broadcast-process.ts') })
  const clients = await startClients(opts.build, opts.clients)
  try {
    const url = `${(server.ready as { url: string }).url}/subscribe`
    const setup = await openStreams(clients, server, url, n, opts.concurrency, limit)
    log(`  floor N=${n}: ${setup.opened} open (${setup.failed} failed) on the bare broadcast server in ${setup.totalMs} ms`)
    // One broadcast not measured: the gateway's write path ran before its rounds too (greetings, the hold's heartbeats).
    await server.call<Broadcast>('broadcast', { version: 2, frameBytes }, limit.cap(60_000))
    await Promise.all(clients.map(async (c) => await c.call<WatchResult>('watch', { version: 2, timeoutMs: limit.cap(30_000) }, limit.cap(60_000))))
    const rounds: FloorRoundFigures[] = []
    const latencies: number[] = []
    let backedUp = 0
    for (let r = 0; r < opts.rounds; r++) {
      // The gateway's rounds start at its next poll: the streams are idle for a while before each.
      await sleep(gapMs)
      const version = r + 3
      const cpu0 = server.cpuMs()
      const clientCpu0 = clients.reduce((sum, c) => sum + c.cpuMs(), 0)
      const pub = await server.call<Broadcast>('broadcast', { version, frameBytes }, limit.cap(60_000))
      const watched = await Promise.all(clients.map(async (c) => await c.call<WatchResult>('watch', { version, timeoutMs: limit.cap(30_000) }, limit.cap(60_000))))
      const cpuMs = server.cpuMs() - cpu0
      const clientCpuMs = clients.reduce((sum, c) => sum + c.cpuMs(), 0) - clientCpu0
      backedUp += pub.backedUp
      const { last: _last, ...seen } = deliveryOf(watched, pub, latencies)
      const figures: FloorRoundFigures = {
        version,
        frameBytes: pub.frameBytes,
        ...seen,
        flushMs: round(pub.flushedAt - pub.publishedAt),
        cpuMs: round(cpuMs, 0),
        clientCpuMs: round(clientCpuMs, 0)
      }
      rounds.push(figures)
      log(`  floor N=${n}: round ${r + 1}: v${version} to ${figures.received}/${figures.open}: p50 ${figures.latency.p50} ms, p99 ${figures.latency.p99} ms, last ${figures.publishToLastMs} ms (loop ${figures.fanoutLoopMs} ms, ${pub.backedUp} backed up; CPU server ${figures.cpuMs} ms, clients ${figures.clientCpuMs} ms)`)
    }
    return {
      opened: setup.opened,
      failed: setup.failed,
      rounds,
      delivery: roundSummary(summarize(latencies)),
      publishToLastMaxMs: rounds.reduce((m, r) => Math.max(m, r.publishToLastMs), 0),
      backedUp,
      elapsedMs: round(monoMs() - t0, 0)
    }
  } finally {
    await Promise.all(clients.map(async (c) => { await c.stop(2000) }))
    await server.stop(5000)
  }
}

/** Idle time before each broadcast of the floor: half a poll interval, the gateway's mean wait from a payment to its next poll. */
function floorGapMs (opts: FanoutOptions): number {
  return opts.pollIntervalMs / 2
}

function floorRatios (g: GatewayRun, f: FloorRun): FloorRatios {
  const medianP99 = (rounds: ReadonlyArray<{ latency: Summary }>): number => summarize(rounds.map((r) => r.latency.p99)).p50
  const meanLoop = (rounds: ReadonlyArray<{ fanoutLoopMs: number }>): number => rounds.reduce((a, r) => a + r.fanoutLoopMs, 0) / rounds.length
  return {
    deliveryP50: round(ratio(g.delivery.p50, f.delivery.p50), 2),
    deliveryP99: round(ratio(g.delivery.p99, f.delivery.p99), 2),
    roundP99Median: round(ratio(medianP99(g.rounds), medianP99(f.rounds)), 2),
    publishToLastMax: round(ratio(g.publishToLastMaxMs, f.publishToLastMaxMs), 2),
    fanoutLoopMean: round(ratio(meanLoop(g.rounds), meanLoop(f.rounds)), 2)
  }
}

async function runBaseline (sim: BenchSimulator, opts: FanoutOptions, n: number, deadline: Deadline): Promise<BaselineRun> {
  const { log } = opts
  const warmup = Math.min(opts.warmup, Math.floor(n / 10))
  const proxy = await BenchChild.start({
    name: 'baseline-proxy',
    entry: opts.build.entry('bench/baseline-proxy.ts'),
    execArgv: ['--expose-gc'],
    env: {
      BENCH_UPSTREAM: sim.baseUrl,
      BENCH_SIM_KEY: BENCH_KEY,
      BENCH_BASELINE_INTERVAL_MS: String(opts.baselineIntervalMs),
      BENCH_BASELINE_CONNECTIONS: '64'
    }
  })
  const clients = await startClients(opts.build, opts.clients)
  try {
    const url = (proxy.ready as { url: string }).url
    const trackcode = await sim.createOrder()
    const streamUrl = `${url}/orders/${trackcode}/subscribe`
    await sleep(300)
    const idle = await memoryAfterGc(proxy)
    if (warmup > 0) {
      const w = await (clients[0] as BenchChild).call<OpenResult>('open', { url: streamUrl, count: warmup, concurrency: opts.concurrency }, deadline.cap(120_000))
      if (w.failed > 0) throw new Error(`baseline warm-up streams failed: ${JSON.stringify(w.errors)}`)
    }
    const warm = await memoryAfterGc(proxy)
    await sim.resetStats()
    log(`  baseline N=${n}: opening ${n - warmup} streams`)
    const setup = await openStreams(clients, proxy, streamUrl, n - warmup, opts.concurrency, deadline)
    setup.opened += warmup
    const setupUpstreamCalls = callsOf(await sim.stats(), CHECK_ROUTE)
    const full = await memoryAfterGc(proxy)
    const memory = memoryFigures(idle.rssKb, warm, full, setup.opened - warmup)
    log(`  baseline N=${n}: ${setup.opened} open (${setup.failed} failed) in ${setup.totalMs} ms; RSS ${memory.rssKb} KiB, ${memory.rssPerSubscriberKb} KiB/subscriber`)
    const held = await hold(sim, proxy, clients, deadline.cap(opts.baselineHoldMs), opts.baselineIntervalMs, setup.opened)
    log(`  baseline N=${n}: hold ${held.ms} ms: ${held.upstreamCalls} upstream checks (${held.upstreamCallsPerMinute}/min), CPU ${held.cpuPercent} %, ${held.open} open`)
    return { setup, memory, hold: held, setupUpstreamCalls }
  } finally {
    await Promise.all(clients.map(async (c) => { await c.stop(2000) }))
    await proxy.stop(5000)
  }
}

/** Checks that this machine can hold `n` streams, before starting anything. */
function checkResources (n: number, clients: number): void {
  // The server holds one descriptor per stream; each client process its share.
  assertFileDescriptors(n + 256, `the server process at N=${n}`)
  assertFileDescriptors(Math.ceil(n / clients) + 256, `each of the ${clients} client processes at N=${n}`)
}

/** Runs the fan-out benchmark; see the module comment. */
export async function runFanout (opts: FanoutOptions): Promise<FanoutResult> {
  for (const n of opts.sizes) checkResources(n, opts.clients)
  const deadline = new Deadline(opts.timeLimitMs, 'fan-out benchmark')
  const sim = await startSimulatorProcess(opts.build)
  const sizes: FanoutSize[] = []
  try {
    for (const n of opts.sizes) {
      opts.log(`fan-out N=${n}`)
      const gateway = await runGateway(sim, opts, n, deadline, 'writer')
      const floor = opts.floor ? await runFloor(opts, n, gateway.rounds[0]?.frameBytes ?? 830, deadline) : undefined
      if (floor !== undefined) opts.log(`  floor N=${n}: p99 ${floor.delivery.p99} ms (gateway ${gateway.delivery.p99} ms: ×${round(ratio(gateway.delivery.p99, floor.delivery.p99), 2)}), last ${floor.publishToLastMaxMs} ms; ${round(floor.elapsedMs / 1000, 1)} s`)
      const plugin = opts.ssePlugin ? await runGateway(sim, opts, n, deadline, 'plugin') : undefined
      const baseline = opts.baseline ? await runBaseline(sim, opts, n, deadline) : undefined
      const gatewayPerDay = DAY_MS / PRODUCTION_INTERVAL_MS * gateway.upstream.callsPerPoll
      const baselinePerDay = baseline === undefined ? Number.NaN : DAY_MS / PRODUCTION_INTERVAL_MS * baseline.hold.callsPerInterval
      sizes.push({
        n,
        gateway,
        ...(plugin === undefined ? {} : { plugin, pluginRatios: pluginRatios(gateway, plugin) }),
        ...(baseline === undefined ? {} : { baseline }),
        ...(floor === undefined ? {} : { floor, floorRatios: floorRatios(gateway, floor) }),
        projection: {
          gatewayCallsPerDay: round(gatewayPerDay, 0),
          baselineCallsPerDay: round(baselinePerDay, 0),
          baselineQuotaMultiple: round(baselinePerDay / DAILY_QUOTA, 1)
        },
        ratios: {
          rssPerSubscriber: round(ratio(baseline?.memory.rssPerSubscriberKb ?? Number.NaN, gateway.memory.rssPerSubscriberKb), 2),
          rssExclYoungPerSubscriber: round(ratio(baseline?.memory.rssExclYoungPerSubscriberKb ?? Number.NaN, gateway.memory.rssExclYoungPerSubscriberKb), 2),
          upstreamCallsPerInterval: round(ratio(baseline?.hold.callsPerInterval ?? Number.NaN, gateway.upstream.callsPerPoll), 1),
          setupPerSecond: round(ratio(baseline?.setup.perSecond ?? Number.NaN, gateway.setup.perSecond), 2),
          cpuHold: round(ratio(baseline?.hold.cpuPercent ?? Number.NaN, gateway.hold.cpuPercent), 2)
        }
      })
    }
  } finally {
    await sim.child.stop(5000)
  }
  const { build: _b, log: _l, ...options } = opts
  return { name: 'fanout', options, sizes, largestNHeld: largestHeld(sizes), targets: fanoutTargets(sizes) }
}

function pluginRatios (writer: GatewayRun, plugin: GatewayRun): PluginRatios {
  const r = {
    rssPerSubscriber: round(ratio(plugin.memory.rssPerSubscriberKb, writer.memory.rssPerSubscriberKb), 2),
    deliveryP99: round(ratio(plugin.delivery.p99, writer.delivery.p99), 2),
    cpuHold: round(ratio(plugin.hold.cpuPercent, writer.hold.cpuPercent), 2),
    slowHeld: round(ratio(plugin.slow?.rssHeldPerReaderKb ?? Number.NaN, writer.slow?.rssHeldPerReaderKb ?? Number.NaN), 2),
    shutdown: round(ratio(plugin.shutdown.allClosedMs, writer.shutdown.allClosedMs), 2)
  }
  // A figure the writer holds at (or below) zero cannot be compared as a ratio: then the plugin must hold no more than it.
  const within = (x: number, a: number, b: number): boolean => b <= 0 ? a <= b + 1 : x <= ADOPT_MARGIN
  const slowOk = plugin.slow === undefined || writer.slow === undefined || within(r.slowHeld, plugin.slow.rssHeldPerReaderKb, writer.slow.rssHeldPerReaderKb)
  return {
    ...r,
    withinTenPercent: r.rssPerSubscriber <= ADOPT_MARGIN && r.deliveryP99 <= ADOPT_MARGIN && within(r.cpuHold, plugin.hold.cpuPercent, writer.hold.cpuPercent) && slowOk && r.shutdown <= ADOPT_MARGIN
  }
}

function fullyServed (s: FanoutSize): boolean {
  const g = s.gateway
  return g.setup.failed === 0 && g.setup.opened === s.n && g.hold.open === s.n && g.rounds.length > 0 &&
    g.rounds.every((r) => r.received === s.n && r.open === s.n)
}

function largestHeld (sizes: FanoutSize[]): number {
  return sizes.filter(fullyServed).reduce((m, s) => Math.max(m, s.n), 0)
}

/** The targets, evaluated on the largest N run. */
function fanoutTargets (sizes: FanoutSize[]): FanoutResult['targets'] {
  const top = sizes.reduce<FanoutSize | undefined>((m, s) => m === undefined || s.n > m.n ? s : m, undefined)
  if (top === undefined) return []
  const g = top.gateway
  return [
    { target: `${top.n} subscribers held on one process`, value: `${g.hold.open} open after the hold, ${g.setup.failed} failed`, met: fullyServed(top) },
    { target: '≤ 10 KB RSS per subscriber', value: `${g.memory.rssPerSubscriberKb} KiB (${round(g.memory.rssPerSubscriberKb * 1.024, 2)} KB)`, met: g.memory.rssPerSubscriberKb * 1.024 <= 10 },
    ...(top.baseline === undefined
      ? []
      : [{ target: 'RSS per subscriber at or below the bare node:http server\'s', value: `${g.memory.rssPerSubscriberKb} vs ${top.baseline.memory.rssPerSubscriberKb} KiB`, met: g.memory.rssPerSubscriberKb <= top.baseline.memory.rssPerSubscriberKb }]),
    { target: `p99 delivery to all ${top.n} ≤ 100 ms`, value: `p99 ${g.delivery.p99} ms, last ${g.publishToLastMaxMs} ms`, met: g.delivery.p99 <= 100 },
    ...(top.floor === undefined || top.floorRatios === undefined
      ? []
      : [{ target: `comparison, not the issue's target: delivery p99 within ×${FLOOR_MARGIN} of a bare node:http broadcast's (same N, same clients, same run)`, value: `p99 ${g.delivery.p99} vs ${top.floor.delivery.p99} ms (×${top.floorRatios.deliveryP99}; median round's p99 ×${top.floorRatios.roundP99Median})`, met: top.floorRatios.deliveryP99 <= FLOOR_MARGIN }]),
    ...(top.pluginRatios === undefined
      ? []
      : [{ target: '@fastify/sse within 10 % of the writer on every figure (adopt it)', value: `×${top.pluginRatios.rssPerSubscriber} RSS, ×${top.pluginRatios.deliveryP99} p99, ×${top.pluginRatios.cpuHold} CPU at rest, ×${top.pluginRatios.slowHeld} slow-reader memory, ×${top.pluginRatios.shutdown} shutdown`, met: top.pluginRatios.withinTenPercent }]),
    { target: 'one upstream check per poll whatever N', value: sizes.map((s) => `N=${s.n}: ${s.gateway.upstream.calls} checks in ${round(s.gateway.upstream.pollsAtInterval, 1)} intervals`).join('; '), met: sizes.every((s) => s.gateway.upstream.atMostOnePerPoll) }
  ]
}
