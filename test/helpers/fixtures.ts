/**
 * Shared test data: the test key, fixed instants, the addresses of the upstream doc's
 * examples, sample orders, fast tracking settings, and the test configuration.
 */
import { hashToken } from '../../src/access/tokens.js'
import { defaultConfig, type Config } from '../../src/config.js'
import type { Simulator } from '../../src/simulator/index.js'

/** The key the test simulator accepts and the test gateway sends. */
export const SIM_KEY = 'sim-test-key-0123456789abcdef'
export const AUTH = { authorization: `Bearer ${SIM_KEY}` }

/** A gateway token every test gateway accepts (name `test-backend`, every route), and its header. */
export const GATEWAY_TOKEN = 'tg_UzV1bG9uZy10ZXN0LWdhdGV3YXktdG9rZW4tMDAwMDE'
export const TOKEN_AUTH = { authorization: `Bearer ${GATEWAY_TOKEN}` }
/** The order-token secret of every test gateway (shared by the instances of a test cluster). */
export const ORDER_TOKEN_SECRET = 'test-order-token-secret-0123456789abcdef'

/** 2025-08-20T16:00:00Z, a fixed start for manual clocks. */
export const T0 = Date.UTC(2025, 7, 20, 16, 0, 0)
export const MIN = 60_000

export const BTC_A = '35iMHbUZeTssxBodiHwEEkb32jpBfVueEL'
export const BTC_B = '1P279UBChDFPAky8S4DcKGaaxKEMYBK9MM'
export const DOGE_A = 'DLPaeuaJi2JLUcvYHD4ddLxadwnGaVSt4p'
export const ETH_A = '0x7ed2bf650d12819171a8add77fe772a18dd77a10'
export const XRP_A = 'rLWyHZwAhsVrHCu8ahsfQfb9w9w7A5WTrS'
export const TON_A = 'UQDTQmCrngsFMbgBhWNX_Sg6Ko3sXUcdeliM5OoZO2Pt4NJx'
export const TRC_A = 'TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE'

/** The simulator's route label of an order check (`sim.control.stats().byRoute`). */
export const CHECK_ROUTE = 'POST /v1/orders/check'

/** The upstream doc's mixer example (valid for the simulator). */
export function mixerOrder (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    addresses: [
      { address: BTC_A, percent: '84.93', delay: '0' },
      { address: BTC_B, percent: '15.07', delay: '120' }
    ],
    amount: '10.00000000',
    crypto: 'btc',
    network: 'btc',
    service_fee: 0.45,
    ...overrides
  }
}

/** The upstream doc's exchange example. */
export function exchangeOrder (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    from_coin: 'eth',
    from_network: 'eth',
    to_coin: 'doge',
    to_network: 'doge',
    to_address: DOGE_A,
    amount: '1.00000000',
    ...overrides
  }
}

/** Fast tracking settings for tests; a quota too large to ever stretch intervals, no per-IP stream limit. */
export const FAST: Partial<Config> = {
  pollIntervalMs: 100,
  pollWaitingPaymentMs: 100,
  pollMaxIntervalMs: 400,
  pollerGraceMs: 200,
  sseHeartbeatMs: 60_000,
  sseRetryMs: 500,
  notFoundCacheMs: 60_000,
  finalCacheMs: 60_000,
  dailyQuota: 10_000_000,
  quotaReserve: 10,
  // Every test client is 127.0.0.1: the per-IP stream limit is tested on its own.
  sseMaxConnectionsPerIp: 100_000
}

/** Stream limits high enough for hundreds of local clients of a test cluster. */
export const CLUSTER_LIMITS: Partial<Config> = { sseMaxConnectionsPerIp: 100_000, sseMaxConnections: 100_000 }

/** A config for tests: the given upstream, the test key, the test gateway token, quiet logs, fast timings, state in memory. */
export function testConfig (upstreamUrl: string, overrides: Partial<Config> = {}): Config {
  return {
    ...defaultConfig(),
    upstreamUrl,
    apiKey: SIM_KEY,
    logLevel: 'silent',
    upstreamTimeoutMs: 2000,
    // No database file per test; the SQLite tests ask for it (with their own DATA_DIR).
    stateBackend: 'memory',
    // Tests send many requests from 127.0.0.1; the rate-limit tests turn limits back on.
    rateLimitMax: 0,
    rateLimitCreateMax: 0,
    // Every test client is 127.0.0.1 too: the connection cap is tested on its own
    // (test/plugins/connection-limit.test.ts).
    maxConnectionsPerIp: 100_000,
    gatewayTokens: [{ name: 'test-backend', sha256: hashToken(GATEWAY_TOKEN) }],
    orderTokenSecret: ORDER_TOKEN_SECRET,
    ...overrides
  }
}

/**
 * Creates a mixer order straight on the simulator (outputs with `delays` minutes, 0 and
 * 120 by default) with `key` (default: the gateway's key); returns its trackcode.
 */
export async function createOrder (sim: Simulator, key = SIM_KEY, delays: [number, number] = [0, 120]): Promise<string> {
  const res = await sim.app.inject({
    method: 'POST',
    url: '/v1/mixer/orders',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    payload: JSON.stringify({
      addresses: [
        { address: BTC_A, percent: '84.93', delay: String(delays[0]) },
        { address: BTC_B, percent: '15.07', delay: String(delays[1]) }
      ],
      amount: '1.00000000',
      crypto: 'btc',
      network: 'btc'
    })
  })
  if (res.statusCode !== 200) throw new Error(`create failed: ${res.body}`)
  return (JSON.parse(res.body) as { trackcode: string }).trackcode
}
