/**
 * The figures of each benchmark as Markdown tables (what `npm run bench` prints and
 * what BENCHMARKS.md quotes).
 */
import type { FanoutResult, FloorRoundFigures, MemoryFigures } from './fanout.js'
import type { Summary } from './lib/stats.js'
import type { MemoryRoutesResult } from './memory-routes.js'
import type { PassthroughResult } from './passthrough.js'
import type { SubscriberHeapResult } from './subscriber-heap.js'
import { formatNumber, formatRatio, table, targetsTable } from './lib/report.js'

function heapCells (m: MemoryFigures): string {
  return `${formatNumber(m.heapPerSubscriberBytes)} / ${formatNumber(m.heapTotalPerSubscriberBytes)} / ${formatNumber(m.nonHeapPerSubscriberBytes)}`
}

/** Tables of the fan-out benchmark. */
export function fanoutTables (r: FanoutResult): string {
  const out: string[] = []
  out.push('### Fan-out: gateway vs per-client proxy (same N, same run)')
  out.push(table(
    ['N', 'server', 'set-up p50 / p99 (ms)', 'streams/s', 'set-up CPU (%)', 'RSS at N (MiB)', 'RSS / subscriber (KiB)', 'same without young gen. (KiB)', 'heap used / reserved / outside heap, per subscriber (B)', 'upstream calls / interval', 'CPU idle hold (%)'],
    r.sizes.flatMap((s) => {
      const g = s.gateway
      const rows: Array<Array<string | number>> = [[
        s.n, 'gateway', `${formatNumber(g.setup.perStream.p50)} / ${formatNumber(g.setup.perStream.p99)}`, g.setup.perSecond, g.setup.cpuPercent,
        g.memory.rssKb / 1024, g.memory.rssPerSubscriberKb, g.memory.rssExclYoungPerSubscriberKb, heapCells(g.memory), g.upstream.callsPerPoll, g.hold.cpuPercent
      ]]
      const b = s.baseline
      if (b !== undefined) {
        rows.push([
          s.n, 'baseline', `${formatNumber(b.setup.perStream.p50)} / ${formatNumber(b.setup.perStream.p99)}`, b.setup.perSecond, b.setup.cpuPercent,
          b.memory.rssKb / 1024, b.memory.rssPerSubscriberKb, b.memory.rssExclYoungPerSubscriberKb, heapCells(b.memory), b.hold.callsPerInterval, b.hold.cpuPercent
        ])
        rows.push([
          s.n, 'baseline ÷ gateway', '', formatRatio(s.ratios.setupPerSecond), '', '', formatRatio(s.ratios.rssPerSubscriber), formatRatio(s.ratios.rssExclYoungPerSubscriber), '',
          formatRatio(s.ratios.upstreamCallsPerInterval), formatRatio(s.ratios.cpuHold)
        ])
      }
      return rows
    })
  ))
  out.push('')
  out.push('### Fan-out: delivery of an upstream change (gateway, and the floor: a bare node:http broadcast at the same N, same run)')
  out.push(table(
    ['N', 'server', 'rounds', 'frame (B)', 'delivered', 'p50 (ms)', 'p99 (ms)', 'last, worst round (ms)', 'fan-out loop / all written, worst round (ms)', 'payment → last (ms)', 'server CPU per round (ms)', 'client CPU per round (ms)'],
    r.sizes.flatMap((s) => {
      const row = (name: string, run: { rounds: FloorRoundFigures[], delivery: Summary, publishToLastMaxMs: number }, payToLast: number): Array<string | number> => {
        const delivered = run.rounds.reduce((a, x) => a + x.received, 0)
        const expected = run.rounds.reduce((a, x) => a + x.open, 0)
        const loop = `${formatNumber(Math.max(...run.rounds.map((x) => x.fanoutLoopMs)))} / ${formatNumber(Math.max(...run.rounds.map((x) => x.flushMs)))}`
        const cpu = run.rounds.reduce((a, x) => a + x.cpuMs, 0) / Math.max(1, run.rounds.length)
        const clientCpu = run.rounds.reduce((a, x) => a + x.clientCpuMs, 0) / Math.max(1, run.rounds.length)
        return [s.n, name, run.rounds.length, run.rounds[0]?.frameBytes ?? Number.NaN, `${delivered}/${expected}`, run.delivery.p50, run.delivery.p99, run.publishToLastMaxMs, loop, payToLast, cpu, clientCpu]
      }
      const g = s.gateway
      const rows = [row('gateway', g, Math.max(...g.rounds.map((x) => x.payToLastMs)))]
      const f = s.floor
      const q = s.floorRatios
      if (f !== undefined && q !== undefined) {
        rows.push(row('bare broadcast (floor)', f, Number.NaN))
        rows.push([s.n, 'gateway ÷ floor', '', '', '', formatRatio(q.deliveryP50), `${formatRatio(q.deliveryP99)} (median round's p99 ${formatRatio(q.roundP99Median)})`, formatRatio(q.publishToLastMax), `${formatRatio(q.fanoutLoopMean)} (mean loop)`, '', '', ''])
      }
      return rows
    })
  ))
  if (r.sizes.some((s) => s.floor !== undefined)) out.push('', 'Server CPU per round: the gateway\'s from the payment to the last arrival (its poll included), the bare server\'s from the broadcast to the last arrival. The floor has no poll, no heartbeat and no other work: the gateway ÷ floor ratios are what the gateway adds to what this machine needs to hand one frame to N loopback streams.')
  const compared = r.sizes.filter((s) => s.plugin !== undefined)
  if (compared.length > 0) {
    out.push('')
    out.push('### Fan-out: the product\'s writer vs @fastify/sse (same N, same run)')
    out.push(table(
      ['N', 'route', 'RSS / subscriber (KiB)', 'heap used / subscriber (B)', 'delivery p50 / p99 (ms)', 'last, worst round (ms)', 'CPU idle hold (%)', 'slow readers: RSS held each (KiB), still open', 'shutdown: all streams closed (ms)'],
      compared.flatMap((s) => {
        const row = (name: string, g: NonNullable<typeof s.plugin>): Array<string | number> => [
          s.n, name, g.memory.rssPerSubscriberKb, g.memory.heapPerSubscriberBytes, `${formatNumber(g.delivery.p50)} / ${formatNumber(g.delivery.p99)}`, g.publishToLastMaxMs, g.hold.cpuPercent,
          g.slow === undefined ? '' : `${formatNumber(g.slow.rssHeldPerReaderKb)}, ${g.slow.stillOpen}/${g.slow.readers}`, `${formatNumber(g.shutdown.allClosedMs)}${g.shutdown.leftOpen > 0 ? ` (${g.shutdown.leftOpen} left)` : ''}`
        ]
        const p = s.pluginRatios
        return [
          row('writer (product)', s.gateway),
          row('@fastify/sse', s.plugin as NonNullable<typeof s.plugin>),
          [s.n, '@fastify/sse ÷ writer', formatRatio(p?.rssPerSubscriber ?? Number.NaN), '', formatRatio(p?.deliveryP99 ?? Number.NaN), '', formatRatio(p?.cpuHold ?? Number.NaN), formatRatio(p?.slowHeld ?? Number.NaN), formatRatio(p?.shutdown ?? Number.NaN)]
        ]
      })
    ))
  }
  out.push('')
  out.push('### Fan-out: upstream calls')
  out.push(table(
    ['N', 'gateway checks during set-up', 'gateway checks (hold + rounds)', 'gateway checks / poll', 'baseline calls / min', 'baseline calls / interval', 'baseline calls / subscriber / interval', 'baseline set-up calls', 'per day at 60 s: gateway', 'per day at 60 s: baseline', 'baseline ÷ 1000/day quota'],
    r.sizes.map((s) => [
      s.n, `${s.gateway.setupUpstreamCalls} in ${formatNumber(s.gateway.setup.totalMs / 1000)} s`, `${s.gateway.upstream.calls} in ${formatNumber(s.gateway.upstream.elapsedMs / 1000)} s`, s.gateway.upstream.callsPerPoll,
      s.baseline?.hold.upstreamCallsPerMinute ?? Number.NaN, s.baseline?.hold.callsPerInterval ?? Number.NaN, s.baseline?.hold.callsPerIntervalPerSubscriber ?? Number.NaN, s.baseline?.setupUpstreamCalls ?? Number.NaN,
      s.projection.gatewayCallsPerDay, s.projection.baselineCallsPerDay, formatRatio(s.projection.baselineQuotaMultiple)
    ])
  ))
  out.push('')
  out.push(`Largest N held with every round delivered to every subscriber: ${r.largestNHeld}`)
  out.push('')
  out.push(targetsTable(r.targets))
  return out.join('\n')
}

/** Tables of the pass-through benchmark. */
export function passthroughTables (r: PassthroughResult): string {
  const out: string[] = []
  const l = r.latency
  out.push(`### Pass-through: added latency (${l.route}, one request in flight)`)
  out.push(table(
    ['path', 'req/s', 'p50 (ms)', 'p90 (ms)', 'p99 (ms)', 'max (ms)', 'samples', 'proxy CPU per request (µs)'],
    [
      ['simulator directly', l.direct.perSecond, l.direct.latency.p50, l.direct.latency.p90, l.direct.latency.p99, l.direct.latency.max, l.direct.latency.count, ''],
      ['via the gateway', l.gateway.perSecond, l.gateway.latency.p50, l.gateway.latency.p90, l.gateway.latency.p99, l.gateway.latency.max, l.gateway.latency.count, l.gateway.proxyCpuUsPerRequest],
      ['via a bare forwarder (the floor)', l.floor.perSecond, l.floor.latency.p50, l.floor.latency.p90, l.floor.latency.p99, l.floor.latency.max, l.floor.latency.count, l.floor.proxyCpuUsPerRequest],
      ['added by the gateway', '', l.addedP50Ms, '', l.addedP99Ms, '', '', ''],
      ['added by the bare forwarder', '', l.floorAddedP50Ms, '', l.floorAddedP99Ms, '', '', ''],
      ['gateway ÷ direct', '', '', '', formatRatio(l.p99Ratio), '', '', '']
    ]
  ))
  out.push('')
  const t = r.throughput
  out.push(`### Pass-through: throughput at saturation (${t.route}, ${r.options.connections} connections)`)
  out.push(table(
    ['path', 'req/s', 'p50 (ms)', 'p99 (ms)', 'gateway CPU (%)', 'simulator CPU (%)'],
    [
      ['simulator directly', t.direct.perSecond, t.direct.latency.p50, t.direct.latency.p99, '', t.direct.upstreamCpuPercent],
      ['via the gateway', t.gateway.perSecond, t.gateway.latency.p50, t.gateway.latency.p99, t.gateway.gatewayCpuPercent, t.gateway.upstreamCpuPercent],
      ['gateway ÷ direct', formatRatio(t.ratio), '', '', '', '']
    ]
  ))
  out.push('')
  out.push(`Upstream calls per gateway request: ${formatNumber(t.upstreamCallsPerRequest)}`)
  out.push('')
  out.push(`### Cached routes at saturation (${r.options.connections} connections, ${r.options.durationS} s each)`)
  out.push(table(
    ['route', 'gateway req/s', 'gateway p99 (ms)', 'upstream calls', 'gateway CPU (%)', 'simulator directly req/s', 'gateway ÷ direct'],
    r.cached.map((c) => [c.route, c.gateway.perSecond, c.gateway.latency.p99, c.upstreamCalls, c.gateway.gatewayCpuPercent, c.direct.perSecond, formatRatio(c.throughputRatio)])
  ))
  out.push('')
  out.push(targetsTable(r.targets))
  return out.join('\n')
}

/** Table of the subscriber heap diagnostic. */
export function subscriberHeapTables (r: SubscriberHeapResult): string {
  return [
    `### Gateway heap per SSE subscriber (${r.added} streams added to ${r.options.warmup}; heap snapshots after GC)`,
    `Heap per subscriber: ${formatNumber(r.heapPerSubscriberBytes)} B`,
    '',
    table(
      ['object (constructor / V8 type)', 'count per subscriber', 'bytes per subscriber', 'mostly held by (objects per subscriber)'],
      r.top.map((d) => [d.group, d.perUnitCount, d.perUnitBytes, d.via.map((v) => `\`${v.retainer}\` ×${formatNumber(v.perUnit)}`).join(', ')])
    )
  ].join('\n')
}

/** Table of the memory-served routes benchmark. */
export function memoryRoutesTables (r: MemoryRoutesResult): string {
  return [
    `### Memory-served routes vs bare Fastify (${r.options.connections} connections, ${r.options.reps} × ${r.options.durationS} s each, log level info on both)`,
    table(
      ['route', 'status', 'gateway req/s', 'gateway p99 (ms)', 'gateway CPU (%)', 'bare Fastify req/s', 'bare p99 (ms)', 'gateway ÷ bare', 'upstream calls', 'CPU per request, gateway / bare (µs)'],
      r.routes.map((x) => [x.route, x.status, x.gatewayPerSecond, x.gatewayP99Ms, x.gatewayCpuPercent, x.baselinePerSecond, x.baselineP99Ms, formatRatio(x.ratio), x.upstreamCalls, `${formatNumber(x.gatewayCpuUsPerRequest)} / ${formatNumber(x.baselineCpuUsPerRequest)}`])
    ),
    '',
    targetsTable(r.targets)
  ].join('\n')
}
