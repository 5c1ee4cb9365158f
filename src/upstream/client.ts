/**
 * The one way trackgate talks to SecretCryptos.
 *
 * - an undici `Pool` per upstream origin: keep-alive, bounded connections;
 * - the API key injected as a Bearer token on authenticated calls (and nowhere else);
 * - every authenticated call takes a quota slot of its purpose's partition first, so the
 *   daily quota holds; with a `payer`, one of the caller's allowance before that (refused:
 *   429 with `Retry-After`, no slot, no call);
 * - a precise deadline per call (a timer cleared when the call ends,
 *   not undici's 1 s-tick timers),
 *   `UPSTREAM_TIMEOUT_MS` unless the call sets its own (an order creation settling in the
 *   background after its client got a 504, see `src/routes/v1/create-order.ts`);
 * - retries with backoff only where safe (`retry: true`) and only when the attempt
 *   provably never reached upstream (connection refused, DNS failure, connect timeout,
 *   before any byte was written): such a retry reuses the first attempt's quota slot,
 *   since upstream never counted it. Never on 5xx, resets or timeouts after the request
 *   was sent: each of those may have cost upstream's quota;
 * - the answer is returned byte for byte (`raw`) next to its parsed JSON (`body`), so
 *   the pass-through can forward it unchanged;
 * - a failure says whether upstream may have received the request
 *   ({@link UpstreamCallError.requestSent}): undici tells when it hands a request a
 *   connection, right before writing it (`onConnect`); a request that failed before that (still queued
 *   behind busy connections, connection refused, DNS or TLS failure) provably never
 *   reached upstream, so an order creation that failed that way created nothing.
 */
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici'
import { GatewayError } from '../errors.js'
import type { AllowanceStore } from '../state/allowances/index.js'
import type { QuotaBudget, QuotaPurpose } from '../state/quota/index.js'

/** Who pays a call out of their daily allowance (see `src/access/payer.ts`). */
export interface Payer {
  /** `callerId` of the caller. */
  id: string
  /** Calls the caller may cause per rolling 24 h. */
  limit: number
}

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
  /** Safe to repeat when an attempt provably never reached upstream. */
  retry: boolean
  /** Charged one call of its allowance before the quota slot (authenticated calls only). */
  payer?: Payer
  /** Aborts the call (e.g. the caller went away). */
  signal?: AbortSignal
  /** Deadline of this call (all attempts), ms; default: the client's `timeoutMs`. */
  timeoutMs?: number
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
  /** The callers' allowances, charged for calls with a `payer`. */
  allowances?: AllowanceStore
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

/**
 * A call that ended without a usable answer: 502 UPSTREAM_UNAVAILABLE /
 * UPSTREAM_BAD_RESPONSE or 504 UPSTREAM_TIMEOUT.
 */
export class UpstreamCallError extends GatewayError {
  /**
   * False only when the request provably never left the gateway (it failed before undici
   * started writing it), so upstream cannot have acted on it; true when it may have.
   */
  readonly requestSent: boolean

  constructor (statusCode: number, code: 'UPSTREAM_UNAVAILABLE' | 'UPSTREAM_BAD_RESPONSE' | 'UPSTREAM_TIMEOUT', message: string, requestSent: boolean, cause?: unknown) {
    super(statusCode, code, message, cause === undefined ? undefined : { cause })
    this.name = 'UpstreamCallError'
    this.requestSent = requestSent
  }
}

/**
 * True when `err`, thrown by {@link UpstreamClient.request}, leaves open whether
 * upstream acted on the request: it may have received it and no answer came back.
 * False for refusals before any attempt (local quota) and for requests that never left.
 */
export function mayHaveReachedUpstream (err: unknown): boolean {
  return err instanceof UpstreamCallError && err.requestSent
}

/**
 * One attempt, as a handler of undici's core (`Pool.dispatch`): it collects the status,
 * `Retry-After` and the body (at most `limit` bytes) and settles {@link done}.
 *
 * Driven by the dispatcher directly rather than through `request()`: that API wraps each
 * request in a handler of its own, an async resource and a `Readable` for the body (then
 * read here through its events), on the path of every forwarded answer.
 *
 * - {@link written} turns true when undici hands the request a connection, right before
 *   it writes the first byte (`onConnect`); a request that fails before that provably
 *   never reached upstream.
 * - The end of its `deadline` settles {@link done} at once, even while the request is still
 *   queued behind busy connections: undici only tells a queued request when a connection
 *   frees up, which could be long after its deadline. The request is then dropped when
 *   dequeued, never written, or cut where it is if it was.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly done: Promise<Buffer>
  statusCode = 0
  retryAfter: string | undefined
  written = false
  readonly #deadline: Deadline
  readonly #limit: number
  #abort: ((err?: Error) => void) | undefined
  #first: Buffer | undefined
  #chunks: Buffer[] | undefined
  #size = 0
  #settled = false
  #resolve!: (body: Buffer) => void
  #reject!: (err: unknown) => void
  readonly #onEnd = (): void => {
    this.#fail(this.#deadline.reason)
    this.#abort?.(this.#deadline.reason as Error)
  }

  constructor (deadline: Deadline, limit: number) {
    this.#deadline = deadline
    this.#limit = limit
    this.done = new Promise<Buffer>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    if (deadline.ended) this.#fail(deadline.reason)
    else deadline.watch(this.#onEnd)
  }

  onConnect (abort: (err?: Error) => void): void {
    // Aborted while queued: dropped here, never written.
    if (this.#settled) {
      abort(this.#deadline.reason as Error)
      return
    }
    this.written = true
    this.#abort = abort
  }

  onHeaders (statusCode: number, headers: Buffer[]): boolean {
    this.statusCode = statusCode
    let seen = 0
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as Buffer
      // Compared without making a string of every header name.
      if (name.length === 11 && name.toString('latin1').toLowerCase() === 'retry-after') {
        // Sent twice: ambiguous, so none (as a repeated header is an array in Node).
        this.retryAfter = ++seen === 1 ? (headers[i + 1] as Buffer).toString('utf8') : undefined
      }
    }
    return true
  }

  onData (chunk: Buffer): boolean {
    this.#size += chunk.length
    // Thrown here, undici aborts the request with it and reports it to onError.
    if (this.#size > this.#limit) throw new BodyTooLargeError(`SecretCryptos sent a body over ${this.#limit} bytes`)
    if (this.#first === undefined) this.#first = chunk
    else (this.#chunks ??= [this.#first]).push(chunk)
    return true
  }

  onComplete (): void {
    this.#deadline.unwatch(this.#onEnd)
    if (this.#settled) return
    this.#settled = true
    this.#resolve(this.#chunks !== undefined ? Buffer.concat(this.#chunks, this.#size) : this.#first ?? Buffer.alloc(0))
  }

  onError (err: Error): void {
    this.#deadline.unwatch(this.#onEnd)
    this.#fail(err)
  }

  #fail (err: unknown): void {
    if (this.#settled) return
    this.#settled = true
    this.#reject(err)
  }
}

/**
 * A call's deadline: ends it with a `TimeoutError` after `ms`, or with the reason of the
 * caller's own `signal` when that aborts first, and tells whoever {@link watch}es (the
 * attempt in flight, a retry's pause). Its timer is cleared once the call is over.
 *
 * A plain timer and one listener rather than an `AbortController` (and `AbortSignal.any`
 * with the caller's signal): nothing here needs an `AbortSignal`, and making one per call
 * was a few per cent of the gateway's CPU per forwarded request. `AbortSignal.timeout`,
 * besides, left its timer armed for the whole `ms` after the call ended (10 s by default),
 * so at a few thousand calls a second tens of thousands of timers outlived their calls.
 */
class Deadline {
  /** Why the call must end, once it must. */
  reason: unknown
  #ended = false
  #listener: (() => void) | undefined
  readonly #timer: NodeJS.Timeout
  readonly #signal: AbortSignal | undefined
  readonly #onSignal = (): void => { this.#end((this.#signal as AbortSignal).reason) }

  constructor (ms: number, signal: AbortSignal | undefined) {
    this.#timer = setTimeout(() => { this.#end(new DOMException('The operation was aborted due to timeout', 'TimeoutError')) }, ms)
    this.#timer.unref()
    this.#signal = signal
    if (signal === undefined) return
    if (signal.aborted) this.#end(signal.reason)
    else signal.addEventListener('abort', this.#onSignal, { once: true })
  }

  /** True once the deadline passed or the caller's signal aborted. */
  get ended (): boolean {
    return this.#ended
  }

  /** Calls `listener` (only the last one given) when the call must end. */
  watch (listener: () => void): void {
    this.#listener = listener
  }

  /** Stops calling `listener`, if it is still the one watching. */
  unwatch (listener: () => void): void {
    if (this.#listener === listener) this.#listener = undefined
  }

  clear (): void {
    clearTimeout(this.#timer)
    this.#listener = undefined
    this.#signal?.removeEventListener('abort', this.#onSignal)
  }

  #end (reason: unknown): void {
    if (this.#ended) return
    this.#ended = true
    this.reason = reason
    this.#listener?.()
  }
}

/** Resolves after `ms`, or as soon as `deadline` ends. */
const sleep = async (ms: number, deadline: Deadline): Promise<void> => {
  if (deadline.ended) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      deadline.unwatch(done)
      resolve()
    }
    deadline.watch(done)
  })
}

export class UpstreamClient {
  readonly #pool: Pool
  readonly #basePath: string
  /** The request headers, by method and by whether the key is sent: made once (undici only reads them). */
  readonly #headers: Readonly<Record<'GET' | 'POST', Readonly<Record<'auth' | 'anonymous', Readonly<Record<string, string>>>>>>
  readonly #opts: Required<Omit<UpstreamClientOptions, 'observer' | 'apiKey' | 'baseUrl' | 'allowances'>>
  readonly #allowances: AllowanceStore | undefined
  readonly #observer: UpstreamObserver | undefined
  /** Attempts made, by `METHOD path status`. */
  readonly calls = new Map<string, number>()

  constructor (opts: UpstreamClientOptions) {
    const url = new URL(opts.baseUrl)
    this.#basePath = url.pathname.replace(/\/+$/, '')
    const auth = `Bearer ${opts.apiKey}`
    const get = { accept: 'application/json' }
    const post = { ...get, 'content-type': 'application/json' }
    this.#headers = Object.freeze({
      GET: Object.freeze({ anonymous: Object.freeze(get), auth: Object.freeze({ ...get, authorization: auth }) }),
      POST: Object.freeze({ anonymous: Object.freeze(post), auth: Object.freeze({ ...post, authorization: auth }) })
    })
    this.#observer = opts.observer
    this.#allowances = opts.allowances
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
      // Backstops only (set per request too, for calls with their own deadline): the
      // precise deadline is the Deadline in request().
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
   * 429 when the payer's allowance or the local quota refuses; an {@link UpstreamCallError} 502
   * UPSTREAM_UNAVAILABLE / UPSTREAM_BAD_RESPONSE or 504 UPSTREAM_TIMEOUT (after
   * `call.timeoutMs`, default `timeoutMs`).
   */
  async request (call: UpstreamCall): Promise<UpstreamResult> {
    const timeoutMs = call.timeoutMs ?? this.#opts.timeoutMs
    const deadline = new Deadline(timeoutMs, call.signal)
    try {
      const attempts = call.retry ? this.#opts.maxAttempts : 1
      // One allowance call and one quota slot for the whole request: a retry happens only
      // when upstream provably never saw the attempt, so it never counted it either.
      if (call.auth) await this.#charge(call.purpose, call.payer)
      let last: GatewayError | undefined
      for (let attempt = 1; attempt <= attempts; attempt++) {
        if (attempt > 1) {
          const base = this.#opts.retryBaseMs * 2 ** (attempt - 2)
          await sleep(base / 2 + Math.random() * base, deadline)
          if (deadline.ended) break
        }
        try {
          const result = await this.#attempt(call, deadline, timeoutMs)
          if (result.statusCode === 429 && call.auth) await this.#pauseAfterTooMany(result.retryAfter)
          return result
        } catch (err) {
          if (!(err instanceof GatewayError)) throw err
          last = err
          if (!neverReachedUpstream(err) || call.signal?.aborted === true) break
        }
      }
      if (last !== undefined) throw last
      throw this.#timeoutError(timeoutMs, false)
    } finally {
      // The answer is read in full by now: nothing of the call can outlive its deadline.
      deadline.clear()
    }
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

  /**
   * Charges the call: the payer's allowance (when there is a payer and an allowance
   * store), then a slot of `purpose`'s partition. Where the quota keeps the allowances
   * in the same store (SQLite), both are taken in one transaction, both or neither;
   * otherwise one after the other.
   */
  async #charge (purpose: QuotaPurpose, payer: Payer | undefined): Promise<void> {
    const quota = this.#opts.quota
    const allowances = this.#allowances
    if (payer !== undefined && allowances !== undefined) {
      const joint = quota.tryAcquireCharged?.(purpose, { allowances, id: payer.id, limit: payer.limit })
      if (joint !== undefined) {
        const decision = await joint
        if (decision.granted) return
        throw decision.refusedBy === 'allowance' ? allowanceUsedUp(payer, decision.retryAt) : quotaUsedUp(decision.retryAt)
      }
      const allowance = await allowances.take(payer.id, payer.limit)
      if (!allowance.granted) throw allowanceUsedUp(payer, allowance.retryAt)
    }
    const slot = await quota.tryAcquire(purpose)
    if (!slot.granted) throw quotaUsedUp(slot.retryAt)
  }

  async #pauseAfterTooMany (retryAfter: string | undefined): Promise<void> {
    const seconds = retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined
    const ms = seconds !== undefined ? seconds * 1000 : this.#opts.tooManyPauseMs
    await this.#opts.quota.pause(Date.now() + ms)
  }

  #timeoutError (timeoutMs: number, requestSent: boolean): UpstreamCallError {
    return new UpstreamCallError(504, 'UPSTREAM_TIMEOUT', `SecretCryptos did not answer within ${timeoutMs} ms`, requestSent)
  }

  #count (call: UpstreamCall, outcome: number | 'network' | 'timeout' | 'bad_response', started: number): void {
    const key = `${call.method} ${call.path} ${outcome}`
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1)
    this.#observer?.({ method: call.method, path: call.path, outcome, durationMs: performance.now() - started })
  }

  async #attempt (call: UpstreamCall, deadline: Deadline, timeoutMs: number): Promise<UpstreamResult> {
    const post = call.method === 'POST'
    const headers = this.#headers[post ? 'POST' : 'GET'][call.auth ? 'auth' : 'anonymous']
    const body = post ? JSON.stringify(call.body ?? {}) : undefined
    const options: Dispatcher.DispatchOptions = {
      method: call.method,
      path: this.#path(call),
      headers,
      body,
      headersTimeout: timeoutMs + 1000,
      bodyTimeout: timeoutMs + 1000
    }
    const started = performance.now()
    const exchange = new Exchange(deadline, this.#opts.maxBodyBytes)
    try {
      // Already over (the caller's signal): nothing is sent.
      if (!deadline.ended) this.#pool.dispatch(options, exchange)
      const raw = await exchange.done
      const statusCode = exchange.statusCode
      const parsed = parseObject(raw)
      if (parsed === undefined) {
        this.#count(call, 'bad_response', started)
        throw new UpstreamCallError(502, 'UPSTREAM_BAD_RESPONSE', `SecretCryptos answered HTTP ${statusCode} with a body that is not a JSON object`, true)
      }
      this.#count(call, statusCode, started)
      const retryAfter = exchange.retryAfter
      return { statusCode, raw, body: parsed, ...(retryAfter !== undefined ? { retryAfter } : {}) }
    } catch (err) {
      if (err instanceof GatewayError) throw err
      const sent = exchange.written
      if (deadline.ended) {
        this.#count(call, 'timeout', started)
        if (call.signal?.aborted === true) throw new UpstreamCallError(502, 'UPSTREAM_UNAVAILABLE', 'The upstream call was cancelled', sent, err)
        throw this.#timeoutError(timeoutMs, sent)
      }
      if (err instanceof BodyTooLargeError) {
        this.#count(call, 'bad_response', started)
        throw new UpstreamCallError(502, 'UPSTREAM_BAD_RESPONSE', err.message, true)
      }
      this.#count(call, 'network', started)
      throw new UpstreamCallError(502, 'UPSTREAM_UNAVAILABLE', `SecretCryptos could not be reached (${describe(err)})`, sent, err)
    }
  }

  #path (call: UpstreamCall): string {
    if (call.query === undefined) return `${this.#basePath}${call.path}`
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(call.query)) if (v !== undefined) params.set(k, v)
    const qs = params.toString()
    return `${this.#basePath}${call.path}${qs === '' ? '' : `?${qs}`}`
  }
}

class BodyTooLargeError extends Error {}

/** Whole seconds until `retryAt` (at least 1), for `Retry-After` and the message. */
function secondsUntil (retryAt: number): number {
  return Math.max(1, Math.ceil((retryAt - Date.now()) / 1000))
}

/** The 429 of a payer whose allowance is used up. */
function allowanceUsedUp (payer: Payer, retryAt: number): GatewayError {
  const seconds = secondsUntil(retryAt)
  return new GatewayError(429, 'TOO_MANY_REQUESTS', `Daily allowance of upstream calls used up for this client (${payer.limit} per 24 h); retry in ${seconds} s`, {
    headers: { 'retry-after': String(seconds) }
  })
}

/** The 429 of a partition of the quota used up. */
function quotaUsedUp (retryAt: number): GatewayError {
  const seconds = secondsUntil(retryAt)
  return new GatewayError(429, 'TOO_MANY_REQUESTS', `The upstream daily quota is used up; retry in ${seconds} s`, {
    headers: { 'retry-after': String(seconds) }
  })
}

/** Failures of the connection itself, before anything was sent: upstream saw nothing. */
const CONNECT_FAILURES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'])

/** True when `err` is a failure to connect, before any byte of the request was written. */
function neverReachedUpstream (err: GatewayError): boolean {
  if (!(err instanceof UpstreamCallError) || err.requestSent || err.code !== 'UPSTREAM_UNAVAILABLE') return false
  return CONNECT_FAILURES.has(errorCode(err.cause))
}

/** The code of an error (undici's or Node's), possibly nested in an AggregateError. */
function errorCode (err: unknown): string {
  if (err instanceof AggregateError) return err.errors.map(errorCode).find((c) => CONNECT_FAILURES.has(c)) ?? ''
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code
  return ''
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
