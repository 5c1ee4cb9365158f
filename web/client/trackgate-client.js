/**
 * trackgate browser client: follow one SecretCryptos order live.
 *
 * Dependency-free ES module, served by the gateway at `/client/trackgate-client.js`
 * and importable from the package as `trackgate/client`. It mirrors the seed's
 * subscription hook:
 *
 * - opens an `EventSource` on `GET /orders/:trackcode/subscribe`;
 * - validates every `message` payload and drops invalid ones (wrong trackcode,
 *   unknown status, non-integer version, missing fields) and stale ones;
 * - resets its backoff on a good message;
 * - stops for good on the `stop` event;
 * - on an error closes the stream itself (so the browser's fixed `retry:` delay is not
 *   used) and reconnects with exponential backoff, 1 s doubling to 30 s, plus jitter;
 * - when the stream fails before it opened (HTTP 4xx/5xx: WHATWG EventSource never
 *   retries those), reads the reason once with `GET /orders/:trackcode` and stops for
 *   good on 400/404;
 * - where `EventSource` does not exist, polls `GET /orders/:trackcode`, waiting the
 *   `X-Poll-After` seconds the server asks for.
 *
 * Types: see `trackgate-client.d.ts` next to this file.
 */

/** @typedef {import('./trackgate-client.js').TrackedOrder} TrackedOrder */
/** @typedef {import('./trackgate-client.js').TrackingStatus} TrackingStatus */
/** @typedef {import('./trackgate-client.js').TrackingStop} TrackingStop */
/** @typedef {import('./trackgate-client.js').TrackingState} TrackingState */
/** @typedef {import('./trackgate-client.js').TrackOptions} TrackOptions */
/** @typedef {import('./trackgate-client.js').TrackingErrorCode} TrackingErrorCode */

/** Every order status, in lifecycle order (`Gone` can follow any of them). */
export const TRACKING_STATUSES = Object.freeze(['WaitingForPayment', 'Confirming', 'WaitingForDelivery', 'Done', 'Gone'])

/** Statuses after which nothing changes any more. */
export const FINAL_STATUSES = Object.freeze(['Done', 'Gone'])

/** Reconnection delays used when `backoff` is not given. */
export const DEFAULT_BACKOFF = Object.freeze({ initialMs: 1000, maxMs: 30_000, jitter: 0.5 })

/** Wait between two polls when the server sends no usable `X-Poll-After`. */
const DEFAULT_POLL_MS = 5000
/** Bounds on the wait between two polls, whatever the server says. */
const MIN_POLL_MS = 1000
const MAX_POLL_MS = 3_600_000

const TRACKCODE = /^[0-9A-F]{16}$/
/** EventSource `readyState` of a connection the browser will not retry. */
const CLOSED = 2

/** An error reported through `onError`; `fatal` tells whether tracking has stopped. */
export class TrackingError extends Error {
  /**
   * @param {TrackingErrorCode | string} code
   * @param {string} message
   * @param {{ status?: number, fatal?: boolean, retryInMs?: number, cause?: unknown }} [details]
   */
  constructor (code, message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'TrackingError'
    /** Machine-readable code: the server's envelope code or one of the client's own. */
    this.code = code
    /** HTTP status that caused it, when there was one. */
    this.status = details.status
    /** True when tracking stopped for good; false when the client retries by itself. */
    this.fatal = details.fatal === true
    /** Delay before the next attempt, when the client retries. */
    this.retryInMs = details.retryInMs
  }
}

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value)
const isString = (value) => typeof value === 'string'
const isFiniteNumber = (value) => typeof value === 'number' && Number.isFinite(value)
const isTimeOrNull = (value) => value === null || isFiniteNumber(value)

/**
 * True when `value` has every field of a TrackedOrder with the right type (extra
 * fields are allowed) and, when `trackcode` is given, is about that order.
 * @param {unknown} value
 * @param {string} [trackcode]
 * @returns {value is TrackedOrder}
 */
export function isTrackedOrder (value, trackcode) {
  if (!isObject(value)) return false
  if (!isString(value.trackcode) || !TRACKCODE.test(value.trackcode)) return false
  if (trackcode !== undefined && value.trackcode !== trackcode) return false
  if (value.type !== 'mixer' && value.type !== 'exchange' && value.type !== 'unknown') return false
  if (!TRACKING_STATUSES.includes(value.status)) return false
  if (!Number.isSafeInteger(value.version) || value.version < 0) return false
  if (!isFiniteNumber(value.updated_at)) return false
  if (value.status_reason !== undefined && value.status_reason !== null && !isString(value.status_reason)) return false
  const deposit = value.deposit
  if (!isObject(deposit)) return false
  if (![0, 1, 2].includes(deposit.confirm_status)) return false
  if (!isString(deposit.coin) || !isString(deposit.network) || !isTimeOrNull(deposit.delete_at)) return false
  const funding = deposit.funding
  if (!isObject(funding)) return false
  if (!isString(funding.waiting_balance) || !isString(funding.received_balance) || !isString(funding.remaining_need)) return false
  if (typeof funding.is_fully_funded !== 'boolean' || typeof funding.can_start !== 'boolean') return false
  if (!Array.isArray(value.outputs)) return false
  return value.outputs.every(isTrackedOutput)
}

function isTrackedOutput (output) {
  return isObject(output) &&
    Number.isSafeInteger(output.index) &&
    isString(output.address) &&
    isString(output.amount) &&
    [0, 1, 2].includes(output.state) &&
    [0, 1].includes(output.confirm) &&
    isString(output.tx) &&
    isTimeOrNull(output.send_at)
}

function isTrackingStop (value, trackcode) {
  return isObject(value) && value.trackcode === trackcode &&
    FINAL_STATUSES.includes(value.status) && Number.isSafeInteger(value.version)
}

function isTrackingState (value) {
  return isObject(value) && (value.state === 'degraded' || value.state === 'live') &&
    (value.message === undefined || isString(value.message))
}

function parseJson (text) {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Seconds in a `X-Poll-After` / `Retry-After` header → ms, or `undefined`. */
function headerSeconds (headers, name) {
  const raw = headers.get(name)
  if (raw === null || !/^\s*\d+(\.\d+)?\s*$/.test(raw)) return undefined
  return Number(raw) * 1000
}

/** Calls a user callback without letting its exception break the client's state. */
function safely (callback, ...args) {
  if (typeof callback !== 'function') return
  try {
    callback(...args)
  } catch (err) {
    // Reported like an exception in an event listener, after the client is consistent.
    queueMicrotask(() => { throw err })
  }
}

/**
 * Follows one order live. Returns `unsubscribe()`, which closes the stream, cancels
 * any pending request and clears every timer; no callback runs after it.
 * The trackcode is trimmed and upper-cased; a malformed one is reported through
 * `onError` (fatal) without any request.
 * @param {string} trackcode
 * @param {TrackOptions} options
 * @returns {() => void}
 */
export function trackOrder (trackcode, options = {}) {
  const code = String(trackcode).trim().toUpperCase()
  const baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '')
  const streamUrl = `${baseUrl}/orders/${encodeURIComponent(code)}/subscribe`
  const orderUrl = `${baseUrl}/orders/${encodeURIComponent(code)}`
  const EventSourceImpl = options.EventSource === undefined ? globalThis.EventSource : options.EventSource
  const fetchImpl = options.fetch ?? (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined)
  const setTimer = options.timers?.setTimeout ?? globalThis.setTimeout.bind(globalThis)
  const clearTimer = options.timers?.clearTimeout ?? globalThis.clearTimeout.bind(globalThis)
  const initialMs = options.backoff?.initialMs ?? DEFAULT_BACKOFF.initialMs
  const maxMs = Math.max(initialMs, options.backoff?.maxMs ?? DEFAULT_BACKOFF.maxMs)
  const jitter = options.backoff?.jitter ?? DEFAULT_BACKOFF.jitter

  let stopped = false
  /** @type {EventSource | null} */
  let source = null
  let opened = false
  let timer = null
  /** @type {AbortController | null} */
  let inflight = null
  let retryDelay = initialMs
  /** @type {TrackedOrder | null} */
  let lastOrder = null

  const cleanup = () => {
    if (source !== null) {
      source.close()
      source = null
    }
    if (timer !== null) {
      clearTimer(timer)
      timer = null
    }
    if (inflight !== null) {
      inflight.abort()
      inflight = null
    }
  }

  const stopWithError = (error) => {
    stopped = true
    cleanup()
    error.fatal = true
    safely(options.onError, error)
  }

  const finish = (stop) => {
    stopped = true
    cleanup()
    safely(options.onStop, stop, lastOrder)
  }

  /** Delay of the next attempt (jittered), then doubles the base up to the cap. */
  const nextDelay = (atLeastMs = 0) => {
    const delay = Math.round(retryDelay * (1 + jitter * Math.random()))
    retryDelay = Math.min(retryDelay * 2, maxMs)
    return Math.max(delay, atLeastMs)
  }

  const schedule = (run, delayMs) => {
    timer = setTimer(() => {
      timer = null
      if (!stopped) run()
    }, delayMs)
  }

  /** Reports a passing problem, then tries again after the backoff delay. */
  const retryLater = (run, error, atLeastMs) => {
    const delay = nextDelay(atLeastMs)
    error.retryInMs = delay
    schedule(run, delay)
    safely(options.onError, error)
  }

  const rank = (status) => TRACKING_STATUSES.indexOf(status)

  /**
   * Whether `order` is newer than what was delivered. A version at or below the last
   * one is stale, unless it was detected later and does not move the status back: the
   * server's version counter started again (a restarted gateway without shared state).
   */
  const isNewer = (order) => {
    if (lastOrder === null || order.version > lastOrder.version) return true
    return order.updated_at > lastOrder.updated_at && rank(order.status) >= rank(lastOrder.status)
  }

  /** Hands a valid order to `onUpdate` unless stale; true when delivered. */
  const deliver = (order) => {
    if (!isNewer(order)) return false
    lastOrder = order
    safely(options.onUpdate, order)
    return true
  }

  const isFinal = (order) => FINAL_STATUSES.includes(order.status)
  const stopOf = (order) => ({ trackcode: order.trackcode, status: order.status, version: order.version })

  /** GET /orders/:trackcode → `{ status, headers, body }`; throws on network failure. */
  const getOrder = async () => {
    const controller = new AbortController()
    inflight = controller
    try {
      const res = await fetchImpl(orderUrl, { headers: { accept: 'application/json' }, cache: 'no-cache', signal: controller.signal })
      const body = parseJson(await res.text())
      return { status: res.status, headers: res.headers, body }
    } finally {
      if (inflight === controller) inflight = null
    }
  }

  /** The error for a non-200 answer of the order route. */
  const errorOf = (answer) => {
    const body = isObject(answer.body) ? answer.body : {}
    const errorCode = isString(body.code) ? body.code : `HTTP_${answer.status}`
    const message = isString(body.message) ? body.message : `The gateway answered HTTP ${answer.status}`
    return new TrackingError(errorCode, message, { status: answer.status })
  }

  const isPermanent = (status) => status === 400 || status === 404

  // --- Server-Sent Events ---------------------------------------------------------

  const connect = () => {
    if (stopped) return
    cleanup()
    opened = false
    const es = new EventSourceImpl(streamUrl)
    source = es
    es.addEventListener('open', () => {
      if (source === es) opened = true
    })
    es.addEventListener('message', (event) => {
      if (source !== es) return
      const order = parseJson(event.data)
      if (!isTrackedOrder(order, code)) return
      retryDelay = initialMs
      deliver(order)
    })
    es.addEventListener('stop', (event) => {
      if (source !== es) return
      const stop = parseJson(event.data)
      if (isTrackingStop(stop, code)) finish(stop)
      else stopWithError(new TrackingError('BAD_RESPONSE', 'The gateway ended tracking with an unreadable stop event'))
    })
    es.addEventListener('tracking', (event) => {
      if (source !== es) return
      const state = parseJson(event.data)
      if (isTrackingState(state)) safely(options.onTracking, state)
    })
    es.addEventListener('error', (event) => {
      if (source !== es || stopped) return
      const refused = !opened && es.readyState === CLOSED
      source = null
      es.close()
      if (refused && fetchImpl !== undefined) {
        probe(event)
        return
      }
      retryLater(connect, new TrackingError('DISCONNECTED', 'The live connection was lost'))
    })
  }

  /** The stream was refused: read why once, stop on 400/404, else retry later. */
  const probe = async (event) => {
    let answer
    try {
      answer = await getOrder()
    } catch (err) {
      if (stopped) return
      retryLater(connect, new TrackingError('NETWORK_ERROR', 'The gateway cannot be reached', { cause: err }))
      return
    }
    if (stopped) return
    if (answer.status === 200 && isTrackedOrder(answer.body, code)) {
      // The order exists: show it, but the stream stays on backoff (no reset here, so
      // a route that keeps refusing streams is not hammered).
      deliver(answer.body)
      if (isFinal(answer.body)) {
        finish(stopOf(answer.body))
        return
      }
      const status = typeof event?.code === 'number' ? ` (HTTP ${event.code})` : ''
      retryLater(connect, new TrackingError('STREAM_REFUSED', `The live stream was refused${status}`, { status: event?.code }))
      return
    }
    const error = answer.status === 200
      ? new TrackingError('BAD_RESPONSE', 'The gateway answered with an unreadable order', { status: 200 })
      : errorOf(answer)
    if (isPermanent(answer.status)) stopWithError(error)
    else retryLater(connect, error, headerSeconds(answer.headers, 'retry-after'))
  }

  // --- Polling fallback -----------------------------------------------------------

  const poll = async () => {
    let answer
    try {
      answer = await getOrder()
    } catch (err) {
      if (stopped) return
      retryLater(poll, new TrackingError('NETWORK_ERROR', 'The gateway cannot be reached', { cause: err }))
      return
    }
    if (stopped) return
    if (answer.status === 200 && isTrackedOrder(answer.body, code)) {
      retryDelay = initialMs
      deliver(answer.body)
      if (isFinal(answer.body)) {
        finish(stopOf(answer.body))
        return
      }
      const asked = headerSeconds(answer.headers, 'x-poll-after') ?? DEFAULT_POLL_MS
      schedule(poll, Math.min(Math.max(asked, MIN_POLL_MS), MAX_POLL_MS))
      return
    }
    const error = answer.status === 200
      ? new TrackingError('BAD_RESPONSE', 'The gateway answered with an unreadable order', { status: 200 })
      : errorOf(answer)
    if (isPermanent(answer.status)) stopWithError(error)
    else retryLater(poll, error, headerSeconds(answer.headers, 'retry-after'))
  }

  // --- Start ----------------------------------------------------------------------

  /** Reports a failure to start after `trackOrder` returned (unless unsubscribed). */
  const failToStart = (error) => {
    queueMicrotask(() => {
      if (!stopped) stopWithError(error)
    })
  }

  if (!TRACKCODE.test(code)) {
    failToStart(new TrackingError('BAD_REQUEST', 'trackcode must be 16 characters 0-9 A-F'))
  } else if (typeof EventSourceImpl === 'function') {
    connect()
  } else if (options.pollFallback !== false && fetchImpl !== undefined) {
    poll()
  } else {
    failToStart(new TrackingError('UNSUPPORTED', 'Neither EventSource nor polling is available here'))
  }

  return function unsubscribe () {
    stopped = true
    cleanup()
  }
}
