/**
 * Diagnostic behind the fan-out memory figure: what one more SSE subscriber costs the
 * gateway's V8 heap, object by object. Two heap snapshots of the gateway (after a
 * forced GC), one with `warmup` streams open and one with `warmup + n`, are summed per
 * constructor and their difference divided by `n`.
 *
 * The heap is only part of RSS: native memory (libuv handles, parsers) and the V8 heap's
 * own slack are not in it — the fan-out benchmark reports RSS. Snapshots pause the
 * process and inflate its RSS: this is not run together with the timed benchmarks.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BenchBuild } from './lib/build.js'
import { heapDelta, summarizeHeapSnapshot, type HeapDelta } from './lib/heap.js'
import { BenchChild, assertFileDescriptors } from './lib/proc.js'
import { sleep } from './lib/time.js'
import { gatewayEnv, startSimulatorProcess } from './lib/upstream-fixture.js'

/** Options of {@link runSubscriberHeap}. */
export interface SubscriberHeapOptions {
  /** Streams open in the reference snapshot. */
  warmup: number
  /** Streams added before the second snapshot. */
  n: number
  concurrency: number
  /** Groups listed. */
  top: number
  timeLimitMs: number
  build: BenchBuild
  log: (line: string) => void
}

/** The per-subscriber heap cost, by kind of object. */
export interface SubscriberHeapResult {
  name: 'subscriber-heap'
  options: Omit<SubscriberHeapOptions, 'build' | 'log'>
  /** Streams actually added between the snapshots. */
  added: number
  /** Sum of the snapshot's shallow sizes per added subscriber, bytes. */
  heapPerSubscriberBytes: number
  /** Largest contributors per subscriber. */
  top: HeapDelta[]
}

interface OpenResult { opened: number, failed: number, errors: Record<string, number> }

/** Runs the diagnostic; see the module comment. */
export async function runSubscriberHeap (opts: SubscriberHeapOptions): Promise<SubscriberHeapResult> {
  assertFileDescriptors(opts.warmup + opts.n + 256, 'the gateway')
  const dir = mkdtempSync(join(tmpdir(), 'trackgate-heap-'))
  const sim = await startSimulatorProcess(opts.build)
  let gateway: BenchChild | undefined
  let client: BenchChild | undefined
  const timer = setTimeout(() => {
    gateway?.kill()
    client?.kill()
    sim.child.kill()
  }, opts.timeLimitMs)
  try {
    gateway = await BenchChild.start({
      name: 'gateway',
      entry: opts.build.entry('bench/gateway-process.ts'),
      execArgv: ['--expose-gc'],
      env: gatewayEnv(sim.baseUrl, { UPSTREAM_DAILY_QUOTA: '100000000', RATE_LIMIT_MAX: '0' })
    })
    client = await BenchChild.start({ name: 'client', entry: opts.build.entry('bench/fanout-client.ts') })
    const trackcode = await sim.createOrder()
    const url = `${(gateway.ready as { url: string }).url}/orders/${trackcode}/subscribe`
    const open = async (count: number): Promise<OpenResult> => {
      const r = await (client as BenchChild).call<OpenResult>('open', { url, count, concurrency: opts.concurrency }, opts.timeLimitMs)
      if (r.failed > 0) throw new Error(`streams failed: ${JSON.stringify(r.errors)}`)
      return r
    }
    await open(opts.warmup)
    await sleep(200)
    opts.log(`subscriber heap: snapshot with ${opts.warmup} streams`)
    const before = summarizeHeapSnapshot(await gateway.call<string>('heapSnapshot', { path: join(dir, 'before.heapsnapshot') }, opts.timeLimitMs))
    const added = (await open(opts.n)).opened
    await sleep(200)
    opts.log(`subscriber heap: snapshot with ${opts.warmup + added} streams`)
    const after = summarizeHeapSnapshot(await gateway.call<string>('heapSnapshot', { path: join(dir, 'after.heapsnapshot') }, opts.timeLimitMs))
    const total = (m: Map<string, { bytes: number }>): number => [...m.values()].reduce((s, g) => s + g.bytes, 0)
    const { build: _b, log: _l, ...options } = opts
    return {
      name: 'subscriber-heap',
      options,
      added,
      heapPerSubscriberBytes: Math.round((total(after) - total(before)) / added),
      top: heapDelta(before, after, added).slice(0, opts.top)
    }
  } finally {
    clearTimeout(timer)
    await client?.stop(2000)
    await gateway?.stop(5000)
    await sim.child.stop(5000)
    rmSync(dir, { recursive: true, force: true })
  }
}
