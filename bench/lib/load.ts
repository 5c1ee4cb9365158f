/**
 * HTTP load with autocannon (programmatic), with latencies kept at full resolution.
 *
 * autocannon's own histogram records whole milliseconds, too coarse for loopback
 * latencies of a fraction of a millisecond; its `response` event carries each
 * response time in fractional ms (from `process.hrtime`), which is what is summarized
 * here.
 */
import { createRequire } from 'node:module'
import { summarize, type Summary } from './stats.js'
import { monoMs } from './time.js'

/** The part of autocannon's options used here. */
interface AutocannonOptions {
  url: string
  method?: string
  headers?: Record<string, string>
  body?: string
  connections: number
  pipelining?: number
  duration: number
  timeout?: number
}

/** The part of autocannon's result used here. */
interface AutocannonResult {
  errors: number
  timeouts: number
  non2xx: number
  '2xx': number
  statusCodeStats: Record<string, { count: number }>
}

interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  on: (event: 'response', listener: (client: unknown, statusCode: number, bytes: number, responseTime: number) => void) => void
}

type Autocannon = (opts: AutocannonOptions) => AutocannonInstance

const require = createRequire(import.meta.url)
const autocannon = require('autocannon') as Autocannon

/** One load run. */
export interface LoadSpec {
  url: string
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** Concurrent connections, each with one request in flight (closed loop). */
  connections: number
  durationS: number
  /** A status that counts as success besides 2xx (e.g. 304 for conditional requests). */
  okStatus?: number
}

/** What a load run measured. */
export interface LoadFigures {
  /** Responses received (any status). */
  responses: number
  /** Successful (2xx or `okStatus`) responses per second of the run. */
  perSecond: number
  /** Response times of successful answers, ms. */
  latency: Summary
  /** The response times themselves (for pooling runs; not for result files). */
  samples: number[]
  non2xx: number
  errors: number
  timeouts: number
  statusCodes: Record<string, number>
  durationMs: number
}

/** Runs autocannon with `spec` and summarizes it. */
export async function runLoad (spec: LoadSpec): Promise<LoadFigures> {
  const times: number[] = []
  let responses = 0
  const t0 = monoMs()
  const instance = autocannon({
    url: spec.url,
    method: spec.method ?? 'GET',
    ...(spec.headers === undefined ? {} : { headers: spec.headers }),
    ...(spec.body === undefined ? {} : { body: spec.body }),
    connections: spec.connections,
    pipelining: 1,
    duration: spec.durationS,
    timeout: 10
  })
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    responses++
    if ((statusCode >= 200 && statusCode < 300) || statusCode === spec.okStatus) times.push(responseTime)
  })
  const result = await instance
  const durationMs = monoMs() - t0
  const statusCodes: Record<string, number> = {}
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) statusCodes[code] = count
  return {
    responses,
    perSecond: times.length / (durationMs / 1000),
    latency: summarize(times),
    samples: times,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    durationMs
  }
}
