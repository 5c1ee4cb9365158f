/**
 * What the benchmarks need from the simulator: a running one, and an order to track.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BenchChild } from './proc.js'
import type { BenchBuild } from './build.js'
import { MIXER_ORDER_EXAMPLE } from '../../src/upstream/schemas/mixer-order.js'

/** The API key the benchmark simulator accepts. */
export const BENCH_KEY = 'bench-key-0123456789abcdef'

/** A mixer order request the simulator accepts (the upstream documentation's example). */
export const ORDER_REQUEST = { action: 'create_order', ...MIXER_ORDER_EXAMPLE, qrcode: 0 }

/** The simulator's counters (see `src/simulator/stats.ts`). */
export interface SimStatsView {
  total: number
  byRoute: Record<string, number>
  byStatus: Record<string, number>
}

/** A simulator child process. */
export interface BenchSimulator {
  child: BenchChild
  /** Its `/v1` base URL. */
  baseUrl: string
  stats: () => Promise<SimStatsView>
  resetStats: () => Promise<void>
  /** Records a deposit of `amount` to the order. */
  pay: (trackcode: string, amount?: string) => Promise<void>
  /** Creates a mixer order directly upstream (not through a gateway); its trackcode. */
  createOrder: () => Promise<string>
}

/** Starts the simulator in its own process, with a quota no benchmark reaches. */
export async function startSimulatorProcess (build: BenchBuild): Promise<BenchSimulator> {
  const child = await BenchChild.start({
    name: 'simulator',
    entry: build.entry('bench/sim-process.ts'),
    env: { BENCH_SIM_KEY: BENCH_KEY, BENCH_SIM_QUOTA: '1000000000' }
  })
  const baseUrl = (child.ready as { url: string }).url
  return {
    child,
    baseUrl,
    stats: async () => await child.call<SimStatsView>('stats'),
    resetStats: async () => { await child.call('resetStats') },
    pay: async (trackcode, amount) => { await child.call('pay', { trackcode, ...(amount === undefined ? {} : { amount }) }) },
    createOrder: async () => {
      const res = await fetch(`${baseUrl}/mixer/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${BENCH_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(ORDER_REQUEST)
      })
      const body = await res.json() as { ok?: boolean, trackcode?: string, message?: string }
      if (res.status !== 200 || typeof body.trackcode !== 'string') throw new Error(`the simulator refused the order: ${res.status} ${JSON.stringify(body)}`)
      return body.trackcode
    }
  }
}

/** Calls of `route` (`"POST /v1/orders/check"`) in simulator stats. */
export function callsOf (stats: SimStatsView, route: string): number {
  return stats.byRoute[route] ?? 0
}

/**
 * Environment of a gateway child in front of `upstream`: production defaults, except
 * what a benchmark from one address on loopback must change (documented in
 * BENCHMARKS.md), plus `overrides`.
 */
export function gatewayEnv (upstream: string, overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    // A state database of its own, removed when the benchmark ends: a run never
    // inherits another's quota ledger, allowances or snapshots.
    DATA_DIR: benchDataDir(),
    SECRETCRYPTOS_API_URL: upstream,
    SECRETCRYPTOS_API_KEY: BENCH_KEY,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    // Every request comes from 127.0.0.1: per-IP limits would measure the limiter.
    SSE_MAX_CONNECTIONS_PER_IP: '100000',
    SSE_MAX_CONNECTIONS: '1000000',
    MAX_CONNECTIONS_PER_IP: '1000000',
    // …and the one anonymous client's daily allowance would end a run after 30 calls.
    ANON_DAILY_ALLOWANCE: '100000000',
    ...overrides
  }
}

/**
 * Starts `bench/gateway-process.ts` in front of `upstream`, with {@link gatewayEnv}`(upstream,
 * env)` and {@link gatewayExecArgv}`(nodeFlags)`.
 */
export async function startGatewayProcess (build: BenchBuild, upstream: string, env: Readonly<Record<string, string>> = {}, nodeFlags: readonly string[] = []): Promise<BenchChild> {
  return await BenchChild.start({
    name: 'gateway',
    entry: build.entry('bench/gateway-process.ts'),
    execArgv: gatewayExecArgv(nodeFlags),
    env: gatewayEnv(upstream, env)
  })
}

/** A fresh state directory under the system's temporary one, deleted when this process exits. */
function benchDataDir (): string {
  const dir = mkdtempSync(join(tmpdir(), 'trackgate-bench-state-'))
  process.once('exit', () => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

/**
 * Node flags of a gateway child: `extra`, plus `--cpu-prof` into `$BENCH_PROFILE_DIR`
 * when that variable is set (the profile is written when the gateway stops; summarize
 * it with `bench/profile.ts`).
 */
export function gatewayExecArgv (extra: readonly string[] = []): string[] {
  const dir = process.env.BENCH_PROFILE_DIR
  return dir === undefined || dir === '' ? [...extra] : [...extra, '--cpu-prof', `--cpu-prof-dir=${dir}`]
}
