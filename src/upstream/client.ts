/**
 * The one way trackgate talks to SecretCryptos.
 *
 * - an undici `Pool` per upstream origin: keep-alive, bounded connections;
 * - the API key injected as a Bearer token on authenticated calls (and nowhere else);
 * - every authenticated attempt takes a quota slot first, so the daily quota holds;
 * - a precise deadline per call (`AbortSignal.timeout`, not undici's 1 s-tick timers);
 * - retries with backoff only where safe (`retry: true`: GETs and `/orders/check`), on
 *   network errors and 5xx, never on timeouts and never for creates or deletes;
 * - the answer is returned byte for byte (`raw`) next to its parsed JSON (`body`), so
 *   the pass-through can forward it unchanged.
 */
import { Pool, errors as undiciErrors } from 'undici'
import { GatewayError } from '../errors.js'
import type { QuotaBudget, QuotaPurpose } from './quota.js'

export interface UpstreamCall {
  method: 'GET' | 'POST'
  /** Path below the base URL, e.g. `/orders/check` (the base already ends in `/v1`). */
  path: string
  query?: Readonly<Record<string, string | undefined>>
  /** JSON body for POST. */
  body?: unknown
  /** Send the API key (and count the call against the quota). */
  auth: boolean
  /** Which part of the quota the call may use. */
  purpose: QuotaPurpose
  /** Safe to repeat on network errors and 5xx. */
  retry: boolean
  /** Aborts the call (e.g. the caller went away). */
  signal?: AbortSignal
}

export interface UpstreamResult {
  statusCode: number
  /** The body exactly as upstream sent it. */
  raw: Buffer
  /** `raw`, parsed. Always a JSON object: anything else is turned into 502 UPSTREAM_BAD_RESPONSE. */
  body: Record<string, unknown>
  /** Upstream's `Retry-After`, when it sent one. */
  retryAfter?: string
}

/** Told about every attempt that reached (or tried to reach) upstream. */
export interface UpstreamObserver {
  (event: { method: string, path: string, outcome: number | 'network' | 'timeout' | 'bad_response', durationMs: number }): void
}

export interface UpstreamClientOptions {
  baseUrl: string
  apiKey: string
  timeoutMs: number
  connections: number
  quota: QuotaBudget
  /** Longest accepted upstream body; bigger → 502. */
  maxBodyBytes?: number
  /** Attempts for `retry: true` calls, first one included. */
  maxAttempts?: number
  /** First retry delay; doubles per attempt, with jitter. */
  retryBaseMs?: number
  /** Pause after upstream TOO_MANY_REQUESTS without Retry-After. */
  tooManyPauseMs?: number
  observer?: UpstreamObserver
}

const sleep = async (ms: number, signal: AbortSignal): Promise<void> => {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

export class UpstreamClient {
  readonly #pool: Pool
  readonly #basePath: string
  readonly #auth: string
  readonly #opts: Required<Omit<UpstreamClientOptions, 'observer' | 'apiKey' | 'baseUrl'>>
  readonly #observer: UpstreamObserver | undefined
  /** Attempts made, by `METHOD path status`. */
  readonly calls = new Map<string, number>()

  constructor (opts: UpstreamClientOptions) {
    const url = new URL(opts.baseUrl)
    this.#basePath = url.pathname.replace(/\/+$/, '')
    this.#auth = `Bearer ${opts.apiKey}`
    this.#observer = opts.observer
    this.#opts = {
      timeoutMs: opts.timeoutMs,
      connections: opts.connections,
      quota: opts.quota,
      maxBodyBytes: opts.maxBodyBytes ?? 5 * 1024 * 1024,
      maxAttempts: opts.maxAttempts ?? 3,
      retryBaseMs: opts.retryBaseMs ?? 200,
      tooManyPauseMs: opts.tooManyPauseMs ?? 15 * 60 * 1000
    }
    this.#pool = new Pool(url.origin, {
      connections: opts.connections,
      keepAliveTimeout: 30_000,
      // Backstops only: the precise deadline is the AbortSignal in request().
      headersTimeout: opts.timeoutMs + 1000,
      bodyTimeout: opts.timeoutMs + 1000,
      connect: { timeout: Math.min(opts.timeoutMs, 10_000) }
    })
  }

  /** Total attempts made so far (every one of them reached for upstream). */
  get totalCalls (): number {
    let n = 0
    for (const v of this.calls.values()) n += v
    return n
  }

  /**
   * Performs the call. Resolves with upstream's answer, whatever its status (4xx and
   * 5xx included: the pass-through forwards them). Rejects with a {@link GatewayError}:
   * 429 when the local quota refuses, 502 UPSTREAM_UNAVAILABLE / UPSTREAM_BAD_RESPONSE,
   * 504 UPSTREAM_TIMEOUT.
   */
  async request (call: UpstreamCall): Promise<UpstreamResult> {
    const deadline = AbortSignal.timeout(this.#opts.timeoutMs)
    const signal = call.signal === undefined ? deadline : AbortSignal.any([deadline, call.signal])
    const attempts = call.retry ? this.#opts.maxAttempts : 1
    // What the last attempt produced: an upstream 5xx answer or a network failure. When
    // the deadline runs out while waiting to retry, that is what the caller gets, not a
    // timeout: upstream did answer (or refuse) in time.
    let last: UpstreamResult | GatewayError | undefined
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        const base = this.#opts.retryBaseMs * 2 ** (attempt - 2)
        await sleep(base / 2 + Math.random() * base, signal)
        if (signal.aborted) break
      }
      if (call.auth) await this.#takeQuota(call.purpose)
      try {
        const result = await this.#attempt(call, signal)
        if (result.statusCode === 429 && call.auth) await this.#pauseAfterTooMany(result.retryAfter)
        if (result.statusCode < 500) return result
        last = result
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err
        last = err
        if (err.code !== 'UPSTREAM_UNAVAILABLE' || call.signal?.aborted === true) break
      }
    }
    if (last instanceof GatewayError) throw last
    if (last !== undefined) return last
    throw this.#timeoutError()
  }

  /**
   * Closes the pool: running calls get `graceMs` to finish, then are aborted, so a
   * shutdown never waits for a hung upstream (the callers are gone by then anyway).
   */
  async close (graceMs = 1000): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const closed = this.#pool.close().then(() => 'closed' as const, () => 'closed' as const)
    const expired = new Promise<'expired'>((resolve) => { timer = setTimeout(resolve, graceMs, 'expired') })
    const first = await Promise.race([closed, expired])
    clearTimeout(timer)
    if (first === 'expired') await this.#pool.destroy()
  }

  async #takeQuota (purpose: QuotaPurpose): Promise<void> {
    const decision = await this.#opts.quota.tryAcquire(purpose)
    if (decision.granted) return
    const seconds = Math.max(1, Math.ceil((decision.retryAt - Date.now()) / 1000))
    throw new GatewayError(429, 'TOO_MANY_REQUESTS', `The upstream daily quota is used up; retry in ${seconds} s`, {
      headers: { 'retry-after': String(seconds) }
    })
  }

  async #pauseAfterTooMany (retryAfter: string | undefined): Promise<void> {
    const seconds = retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined
    const ms = seconds !== undefined ? seconds * 1000 : this.#opts.tooManyPauseMs
    await this.#opts.quota.pause(Date.now() + ms)
  }

  #timeoutError (): GatewayError {
    return new GatewayError(504, 'UPSTREAM_TIMEOUT', `SecretCryptos did not answer within ${this.#opts.timeoutMs} ms`)
  }

  #count (call: UpstreamCall, outcome: number | 'network' | 'timeout' | 'bad_response', started: number): void {
    const key = `${call.method} ${call.path} ${outcome}`
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1)
    this.#observer?.({ method: call.method, path: call.path, outcome, durationMs: performance.now() - started })
  }

  async #attempt (call: UpstreamCall, signal: AbortSignal): Promise<UpstreamResult> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (call.auth) headers.authorization = this.#auth
    let body: string | undefined
    if (call.method === 'POST') {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(call.body ?? {})
    }
    const started = performance.now()
    let statusCode = 0
    try {
      const res = await this.#pool.request({ method: call.method, path: this.#path(call), headers, body, signal })
      statusCode = res.statusCode
      const raw = await readLimited(res.body, this.#opts.maxBodyBytes)
      const parsed = parseObject(raw)
      if (parsed === undefined) {
        this.#count(call, 'bad_response', started)
        throw new GatewayError(502, 'UPSTREAM_BAD_RESPONSE', `SecretCryptos answered HTTP ${statusCode} with a body that is not a JSON object`)
      }
      this.#count(call, statusCode, started)
      const retryAfter = res.headers['retry-after']
      return { statusCode, raw, body: parsed, ...(typeof retryAfter === 'string' ? { retryAfter } : {}) }
    } catch (err) {
      if (err instanceof GatewayError) throw err
      if (signal.aborted) {
        this.#count(call, 'timeout', started)
        if (call.signal?.aborted === true) throw new GatewayError(502, 'UPSTREAM_UNAVAILABLE', 'The upstream call was cancelled', { cause: err })
        throw this.#timeoutError()
      }
      if (err instanceof BodyTooLargeError) {
        this.#count(call, 'bad_response', started)
        throw new GatewayError(502, 'UPSTREAM_BAD_RESPONSE', err.message)
      }
      this.#count(call, 'network', started)
      throw new GatewayError(502, 'UPSTREAM_UNAVAILABLE', `SecretCryptos could not be reached (${describe(err)})`, { cause: err })
    }
  }

  #path (call: UpstreamCall): string {
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined) params.set(k, v)
    const qs = params.toString()
    return `${this.#basePath}${call.path}${qs === '' ? '' : `?${qs}`}`
  }
}

class BodyTooLargeError extends Error {}

async function readLimited (body: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > limit) throw new BodyTooLargeError(`SecretCryptos sent a body over ${limit} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, size)
}

function parseObject (raw: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(raw.toString('utf8'))
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

function describe (err: unknown): string {
  if (err instanceof undiciErrors.UndiciError) return err.code
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code
  return err instanceof Error ? err.name : 'unknown error'
}
