/**
 * The one way trackgate talks to SecretCryptos.
 *
 * - an undici `Pool` per upstream origin: keep-alive, bounded connections;
 * - the API key injected as a Bearer token on authenticated calls (and nowhere else);
 * - every authenticated call takes a quota slot of its purpose's partition first, so the
 *   daily quota holds; with a `payer`, one of the caller's allowance before that (refused:
 *   429 with `Retry-After`, no slot, no call);
 * - a precise deadline per call (an abort signal on a timer cleared when the call ends,
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
 *   ({@link UpstreamCallError.requestSent}): undici tells when it starts writing a request
 *   to a socket (`onRequestStart`); a request that failed before that (still queued
 *   behind busy connections, connection refused, DNS or TLS failure) provably never
 *   reached upstream, so an order creation that failed that way created nothing.
 */
import type { Readable } from 'node:stream'
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
 * An interceptor marking the options of every request undici starts writing to a socket:
 * `onRequestStart` is called right before the first byte is written, unless the request
 * is aborted right there (which is how a request aborted while queued learns it). The
 * rest of the handler is passed through untouched.
 */
function markWritten (written: WeakSet<object>): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => dispatch(opts, {
    onRequestStart (controller, context) {
      handler.onRequestStart?.(controller, context)
      // A request aborted while it was queued is only told so here, and then not written.
      if (!controller.aborted) written.add(opts)
    },
    onRequestUpgrade (controller, statusCode, headers, socket) { handler.onRequestUpgrade?.(controller, statusCode, headers, socket) },
    onResponseStart (controller, statusCode, headers, statusMessage) { handler.onResponseStart?.(controller, statusCode, headers, statusMessage) },
    onResponseData (controller, chunk) { handler.onResponseData?.(controller, chunk) },
    onResponseEnd (controller, trailers) { handler.onResponseEnd?.(controller, trailers) },
    onResponseError (controller, error) { handler.onResponseError?.(controller, error) }
  })
}

/**
 * A call's deadline: a signal aborted with a `TimeoutError` after `ms`, like
 * `AbortSignal.timeout(ms)`, but whose timer is cleared once the call is over.
 * `AbortSignal.timeout` leaves its timer armed for the whole `ms` after the call ended
 * (10 s by default), so at a few thousand calls a second tens of thousands of timers
 * and signals outlive their calls, survive young-generation collections and make each
 * one longer.
 */
class Deadline {
  readonly #controller = new AbortController()
  readonly #timer: NodeJS.Timeout

  constructor (ms: number) {
    const controller = this.#controller
    this.#timer = setTimeout(() => { controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')) }, ms)
    this.#timer.unref()
  }

  get signal (): AbortSignal {
    return this.#controller.signal
  }

  clear (): void {
    clearTimeout(this.#timer)
  }
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
  /** `#pool` with {@link markWritten}: what requests go through. */
  readonly #dispatcher: Dispatcher
  /** Options objects of the requests undici has started writing. */
  readonly #written = new WeakSet<object>()
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
      // precise deadline is the AbortSignal in request().
      headersTimeout: opts.timeoutMs + 1000,
      bodyTimeout: opts.timeoutMs + 1000,
      connect: { timeout: Math.min(opts.timeoutMs, 10_000) }
    })
    this.#dispatcher = this.#pool.compose(markWritten(this.#written))
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
    const deadline = new Deadline(timeoutMs)
    try {
      const signal = call.signal === undefined ? deadline.signal : AbortSignal.any([deadline.signal, call.signal])
      const attempts = call.retry ? this.#opts.maxAttempts : 1
      // One allowance call and one quota slot for the whole request: a retry happens only
      // when upstream provably never saw the attempt, so it never counted it either.
      if (call.auth) await this.#charge(call.purpose, call.payer)
      let last: GatewayError | undefined
      for (let attempt = 1; attempt <= attempts; attempt++) {
        if (attempt > 1) {
          const base = this.#opts.retryBaseMs * 2 ** (attempt - 2)
          await sleep(base / 2 + Math.random() * base, signal)
          if (signal.aborted) break
        }
        try {
          const result = await this.#attempt(call, signal, timeoutMs)
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

  async #attempt (call: UpstreamCall, signal: AbortSignal, timeoutMs: number): Promise<UpstreamResult> {
    const post = call.method === 'POST'
    const headers = this.#headers[post ? 'POST' : 'GET'][call.auth ? 'auth' : 'anonymous']
    const body = post ? JSON.stringify(call.body ?? {}) : undefined
    // Identifies this attempt to markWritten: whether undici started writing it.
    const options: Dispatcher.RequestOptions = {
      method: call.method,
      path: this.#path(call),
      headers,
      body,
      signal,
      headersTimeout: timeoutMs + 1000,
      bodyTimeout: timeoutMs + 1000
    }
    const started = performance.now()
    let statusCode = 0
    try {
      const res = await untilAborted(this.#dispatcher.request(options), signal)
      statusCode = res.statusCode
      const raw = await readLimited(res.body, this.#opts.maxBodyBytes)
      const parsed = parseObject(raw)
      if (parsed === undefined) {
        this.#count(call, 'bad_response', started)
        throw new UpstreamCallError(502, 'UPSTREAM_BAD_RESPONSE', `SecretCryptos answered HTTP ${statusCode} with a body that is not a JSON object`, true)
      }
      this.#count(call, statusCode, started)
      const retryAfter = res.headers['retry-after']
      return { statusCode, raw, body: parsed, ...(typeof retryAfter === 'string' ? { retryAfter } : {}) }
    } catch (err) {
      if (err instanceof GatewayError) throw err
      const sent = this.#written.has(options)
      if (signal.aborted) {
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

function ignore (): void {}

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

/**
 * `response`, or a rejection as soon as `signal` aborts. undici only tells a request
 * aborted while still queued (every connection busy) once a connection frees up, which
 * could be long after its deadline; this keeps the deadline. The request itself is
 * dropped by undici when dequeued, never written; were it answered anyway, its body is
 * discarded.
 */
async function untilAborted (response: Promise<Dispatcher.ResponseData>, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
  return await new Promise<Dispatcher.ResponseData>((resolve, reject) => {
    let settled = false
    const onAbort = (): void => {
      settled = true
      reject(signal.reason)
    }
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
    response.then((res) => {
      signal.removeEventListener('abort', onAbort)
      if (settled) res.body.destroy()
      else resolve(res)
    }, (err: unknown) => {
      signal.removeEventListener('abort', onAbort)
      if (!settled) reject(err)
    })
  })
}

/**
 * The whole of `body`, or a rejection past `limit` bytes (the body is then destroyed) or
 * when the stream fails (an abort destroys it with the signal's reason). Read through
 * its events rather than `for await`: the async iterator allocates a promise, a result
 * object and an end-of-stream watcher per chunk, on the path of every forwarded answer.
 */
async function readLimited (body: Readable, limit: number): Promise<Buffer> {
  return await new Promise<Buffer>((resolve, reject) => {
    let first: Buffer | undefined
    let chunks: Buffer[] | undefined
    let size = 0
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        // undici reports the destruction as an error of its own: nobody waits for it.
        body.on('error', ignore)
        body.destroy()
        reject(new BodyTooLargeError(`SecretCryptos sent a body over ${limit} bytes`))
        return
      }
      if (first === undefined) first = chunk
      else (chunks ??= [first]).push(chunk)
    }
    const onEnd = (): void => {
      cleanup()
      resolve(chunks !== undefined ? Buffer.concat(chunks, size) : first ?? Buffer.alloc(0))
    }
    const onError = (err: Error): void => {
      cleanup()
      reject(err)
    }
    // 'close' before 'end': destroyed without an error (undici reports aborts as errors).
    const onClose = (): void => { onError(new Error('the upstream body was closed before its end')) }
    function cleanup (): void {
      body.off('data', onData)
      body.off('end', onEnd)
      body.off('error', onError)
      body.off('close', onClose)
    }
    body.on('data', onData)
    body.once('end', onEnd)
    body.once('error', onError)
    body.once('close', onClose)
  })
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
