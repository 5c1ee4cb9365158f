/**
 * The benchmarks, their full and smoke sizes, and running a selection of them.
 * `run.ts` is the command line over this; `test/bench/benchmarks-smoke.test.ts` runs the smoke sizes.
 */
import { buildForChildren } from './lib/build.js'
import { loadAverage, writeResult } from './lib/report.js'
import { runFanout, type FanoutOptions, type FanoutResult } from './fanout.js'
import { runMemoryRoutes, type MemoryRoutesOptions, type MemoryRoutesResult } from './memory-routes.js'
import { runPassthrough, type PassthroughOptions, type PassthroughResult } from './passthrough.js'
import { fanoutTables, memoryRoutesTables, passthroughTables, subscriberHeapTables } from './print.js'
import { runSubscriberHeap, type SubscriberHeapOptions, type SubscriberHeapResult } from './subscriber-heap.js'

/** Names accepted by `--only`. */
export const BENCHMARK_NAMES = ['passthrough', 'memory-routes', 'fanout', 'subscriber-heap'] as const
export type BenchmarkName = typeof BENCHMARK_NAMES[number]

type Sized<T> = Omit<T, 'build' | 'log'>

/** Sizes of a real run (bounded: fan-out about 6 min with the @fastify/sse variant, pass-through about 1.5 min, memory-served routes about 2 min on 2 cores). */
export const FULL: { fanout: Sized<FanoutOptions>, passthrough: Sized<PassthroughOptions>, memoryRoutes: Sized<MemoryRoutesOptions>, subscriberHeap: Sized<SubscriberHeapOptions> } = {
  fanout: {
    sizes: [1000, 5000, 10_000],
    clients: 2,
    concurrency: 50,
    warmup: 100,
    pollIntervalMs: 1000,
    heartbeatMs: 2500,
    ssePlugin: true,
    // 10 MiB offered to each slow reader: more than the kernel buffers of a loopback connection (up to 4 MiB sent + the receive window).
    slowReaders: 50,
    floodVersions: 40,
    floodBytes: 262_144,
    rounds: 5,
    floor: true,
    holdMs: 5000,
    baseline: true,
    baselineIntervalMs: 10_000,
    baselineHoldMs: 20_000,
    timeLimitMs: 10 * 60_000
  },
  passthrough: { durationS: 5, warmupS: 2, connections: 10, reps: 4, timeLimitMs: 4 * 60_000 },
  memoryRoutes: { durationS: 4, warmupS: 1, connections: 10, reps: 2, timeLimitMs: 4 * 60_000 },
  subscriberHeap: { warmup: 100, n: 2000, concurrency: 50, top: 25, timeLimitMs: 2 * 60_000 }
}

/** Tiny sizes: checks that everything runs end to end, measures nothing meaningful. */
export const SMOKE: typeof FULL = {
  fanout: {
    sizes: [20],
    clients: 2,
    concurrency: 10,
    warmup: 2,
    pollIntervalMs: 200,
    heartbeatMs: 200,
    ssePlugin: true,
    slowReaders: 3,
    floodVersions: 3,
    floodBytes: 1024,
    rounds: 1,
    floor: true,
    holdMs: 500,
    baseline: true,
    baselineIntervalMs: 300,
    baselineHoldMs: 700,
    timeLimitMs: 60_000
  },
  passthrough: { durationS: 0.6, warmupS: 0, connections: 4, reps: 1, timeLimitMs: 60_000 },
  memoryRoutes: { durationS: 0.3, warmupS: 0, connections: 4, reps: 1, timeLimitMs: 60_000 },
  subscriberHeap: { warmup: 5, n: 20, concurrency: 10, top: 10, timeLimitMs: 60_000 }
}

/** What {@link runSuite} runs and where it writes. */
export interface SuiteOptions {
  smoke: boolean
  only?: readonly BenchmarkName[]
  /** Overrides of the fan-out sizes (e.g. `--sizes 1000,2000`). */
  sizes?: readonly number[]
  /** Overrides of the number of client processes. */
  clients?: number
  /** Fan-out: the product's writer only (no `@fastify/sse` variant, baseline or slow readers). */
  writerOnly?: boolean
  /** Directory of the result files. */
  resultsDir?: string
  /** The command line recorded in result files. */
  command: string
  log: (line: string) => void
}

/** What each benchmark produced. */
export interface SuiteResult {
  fanout?: FanoutResult
  passthrough?: PassthroughResult
  memoryRoutes?: MemoryRoutesResult
  subscriberHeap?: SubscriberHeapResult
  /** Result files written. */
  files: string[]
  /** The printed tables. */
  report: string
}

/** Runs the selected benchmarks one after the other (never concurrently: they share the CPU). */
export async function runSuite (opts: SuiteOptions): Promise<SuiteResult> {
  const preset = opts.smoke ? SMOKE : FULL
  const selected = opts.only ?? BENCHMARK_NAMES
  const build = buildForChildren()
  const out: SuiteResult = { files: [], report: '' }
  const report: string[] = []
  try {
    const context = (): { smoke: boolean, command: string, loadAtStart: number[], dir?: string } => ({
      smoke: opts.smoke,
      command: opts.command,
      loadAtStart: loadAverage(),
      ...(opts.resultsDir === undefined ? {} : { dir: opts.resultsDir })
    })
    if (selected.includes('passthrough')) {
      const ctx = context()
      const result = await runPassthrough({ ...preset.passthrough, build, log: opts.log })
      out.passthrough = result
      out.files.push(writeResult('passthrough', result, ctx))
      report.push(passthroughTables(result))
    }
    if (selected.includes('memory-routes')) {
      const ctx = context()
      const result = await runMemoryRoutes({ ...preset.memoryRoutes, build, log: opts.log })
      out.memoryRoutes = result
      out.files.push(writeResult('memory-routes', result, ctx))
      report.push(memoryRoutesTables(result))
    }
    if (selected.includes('fanout')) {
      const fanout = {
        ...preset.fanout,
        ...(opts.sizes === undefined ? {} : { sizes: opts.sizes }),
        ...(opts.clients === undefined ? {} : { clients: opts.clients }),
        ...(opts.writerOnly === true ? { ssePlugin: false, baseline: false, slowReaders: 0 } : {})
      }
      const ctx = context()
      const result = await runFanout({ ...fanout, build, log: opts.log })
      out.fanout = result
      out.files.push(writeResult('fanout', result, ctx))
      report.push(fanoutTables(result))
    }
    if (selected.includes('subscriber-heap')) {
      const ctx = context()
      const result = await runSubscriberHeap({ ...preset.subscriberHeap, build, log: opts.log })
      out.subscriberHeap = result
      out.files.push(writeResult('subscriber-heap', result, ctx))
      report.push(subscriberHeapTables(result))
    }
  } finally {
    build.remove()
  }
  out.report = report.join('\n\n')
  return out
}
