/**
 * The browser client in Node with a hand-driven EventSource, virtual timers and a
 * scripted fetch: validation, stale versions, backoff, stop, the refused-stream probe,
 * the polling fallback and unsubscribe.
 */
import t from 'tap'
import {
  DEFAULT_BACKOFF,
  TrackingError,
  isTrackedOrder,
  trackOrder,
  type TrackOptions,
  type TrackedOrder,
  type TrackingState,
  type TrackingStop
} from '../../web/client/trackgate-client.js'
import { FakeTimers, TRACKCODE, fakeEventSources, json, scriptedFetch, settle, trackedOrder, type FetchAnswer } from '../helpers/browser-client-fakes.js'

/** Everything a test observes of one `trackOrder` call. */
function harness (opts: Partial<TrackOptions> & { answers?: FetchAnswer[], trackcode?: string } = {}) {
  const sources = fakeEventSources()
  const timers = new FakeTimers()
  const fetcher = scriptedFetch(opts.answers ?? [])
  const updates: TrackedOrder[] = []
  const stops: Array<{ stop: TrackingStop, order: TrackedOrder | null }> = []
  const errors: TrackingError[] = []
  const tracking: TrackingState[] = []
  const { answers: _answers, trackcode, ...options } = opts
  const unsubscribe = trackOrder(trackcode ?? TRACKCODE, {
    EventSource: sources.EventSource,
    fetch: fetcher.fetch,
    timers,
    backoff: { jitter: 0 },
    onUpdate: (order) => updates.push(order),
    onStop: (stop, order) => stops.push({ stop, order }),
    onError: (error) => errors.push(error),
    onTracking: (state) => tracking.push(state),
    ...options
  })
  return { sources, timers, fetcher, updates, stops, errors, tracking, unsubscribe }
}

t.test('isTrackedOrder accepts the contract example and rejects broken payloads', async (t) => {
  t.ok(isTrackedOrder(trackedOrder(), TRACKCODE))
  t.ok(isTrackedOrder({ ...trackedOrder(), extra: { anything: true } }), 'unknown extra fields are ignored')
  t.ok(isTrackedOrder(trackedOrder({ status_reason: 'INSUFFICIENT_FUNDS' })))
  const { status_reason: _reason, ...withoutReason } = trackedOrder()
  t.ok(isTrackedOrder(withoutReason), 'status_reason may be absent')
  const base = trackedOrder()
  const broken: Array<[string, unknown]> = [
    ['not an object', 'WaitingForPayment'],
    ['an array', [base]],
    ['another trackcode', { ...base, trackcode: 'AAAAAAAAAAAAAAAA' }],
    ['an unknown status', { ...base, status: 'Shipped' }],
    ['a fractional version', { ...base, version: 1.5 }],
    ['a string version', { ...base, version: '3' }],
    ['a negative version', { ...base, version: -1 }],
    ['an unknown type', { ...base, type: 'swap' }],
    ['no updated_at', { ...base, updated_at: undefined }],
    ['a numeric status_reason', { ...base, status_reason: 3 }],
    ['no deposit', { ...base, deposit: undefined }],
    ['a bad confirm_status', { ...base, deposit: { ...base.deposit, confirm_status: 3 } }],
    ['no funding', { ...base, deposit: { ...base.deposit, funding: undefined } }],
    ['a numeric balance', { ...base, deposit: { ...base.deposit, funding: { ...base.deposit.funding, received_balance: 10 } } }],
    ['a string can_start', { ...base, deposit: { ...base.deposit, funding: { ...base.deposit.funding, can_start: 'true' } } }],
    ['outputs as a summary', { ...base, outputs: { count: 1, sent_count: 0, sent_total: '0.00000000' } }],
    ['an output without tx', { ...base, outputs: [{ ...base.outputs[0], tx: undefined }] }],
    ['an output with a bad state', { ...base, outputs: [{ ...base.outputs[0], state: 5 }] }],
    ['an output with a string send_at', { ...base, outputs: [{ ...base.outputs[0], send_at: '1755441793' }] }]
  ]
  for (const [name, value] of broken) t.notOk(isTrackedOrder(value, TRACKCODE), `rejects ${name}`)
})

t.test('opens the stream on the subscribe route and delivers valid snapshots', async (t) => {
  const h = harness({ baseUrl: 'http://gw.test:8080/' })
  t.equal(h.sources.instances.length, 1)
  t.equal(h.sources.last().url, `http://gw.test:8080/orders/${TRACKCODE}/subscribe`, 'baseUrl without its trailing slash')
  h.sources.last().open()
  h.sources.last().message(trackedOrder({ version: 1, status: 'WaitingForPayment' }))
  t.same(h.updates.map((o) => o.version), [1])
  t.same(h.errors, [])
  h.unsubscribe()
})

t.test('a lower-case trackcode is normalized; a malformed one fails without any request', async (t) => {
  const ok = harness({ trackcode: ` ${TRACKCODE.toLowerCase()} ` })
  t.equal(ok.sources.last().url, `/orders/${TRACKCODE}/subscribe`, 'same origin by default')
  ok.unsubscribe()

  const bad = harness({ trackcode: 'not-a-code' })
  t.equal(bad.sources.instances.length, 0)
  await settle()
  t.equal(bad.errors.length, 1)
  t.equal(bad.errors[0]?.code, 'BAD_REQUEST')
  t.equal(bad.errors[0]?.fatal, true)
  t.equal(bad.fetcher.calls.length, 0)

  const quiet = harness({ trackcode: 'not-a-code' })
  quiet.unsubscribe()
  await settle()
  t.same(quiet.errors, [], 'no callback after unsubscribe, even for a start-up failure')
})

t.test('invalid payloads are dropped, the stream stays open', async (t) => {
  const h = harness()
  const es = h.sources.last()
  es.open()
  const good = trackedOrder({ version: 1 })
  es.message('{not json')
  es.message({ ...good, trackcode: 'FFFFFFFFFFFFFFFF' })
  es.message({ ...good, status: 'Lost' })
  es.message({ ...good, version: 2.5 })
  es.message({ ...good, deposit: undefined })
  es.message({ ...good, outputs: [{ index: 1 }] })
  t.same(h.updates, [], 'nothing delivered')
  t.same(h.errors, [], 'dropping is silent')
  t.notOk(es.closed)
  es.message(good)
  t.same(h.updates.map((o) => o.version), [1])
  h.unsubscribe()
})

t.test('stale versions are ignored; a restarted version counter is followed forward only', async (t) => {
  const h = harness()
  const es = h.sources.last()
  es.open()
  es.message(trackedOrder({ version: 2, updated_at: 100, status: 'Confirming' }))
  es.message(trackedOrder({ version: 2, updated_at: 100, status: 'Confirming' }))
  es.message(trackedOrder({ version: 1, updated_at: 90, status: 'WaitingForPayment' }))
  t.same(h.updates.map((o) => o.version), [2], 'same or lower version with an older time is stale')
  es.message(trackedOrder({ version: 3, updated_at: 110 }))
  t.same(h.updates.map((o) => o.version), [2, 3])
  // A gateway restarted without shared state counts from 1 again: later detection, same
  // or further status → newer; an earlier status → still stale.
  es.message(trackedOrder({ version: 1, updated_at: 200, status: 'Confirming' }))
  t.same(h.updates.map((o) => o.version), [2, 3], 'status would move backwards: dropped')
  es.message(trackedOrder({ version: 1, updated_at: 200, status: 'Done' }))
  t.same(h.updates.map((o) => [o.version, o.status]), [[2, 'Confirming'], [3, 'WaitingForDelivery'], [1, 'Done']])
  h.unsubscribe()
})

t.test('reconnects with backoff doubling from 1 s to 30 s, reset by a good message', async (t) => {
  const h = harness()
  const delays: number[] = []
  for (let i = 0; i < 8; i++) {
    const es = h.sources.last()
    es.drop()
    t.ok(es.closed, 'the client closes the failed source itself (no browser auto-retry)')
    const pending = h.timers.pending()
    t.equal(pending.length, 1, 'one reconnection timer')
    delays.push(pending[0] as number)
    const before = h.sources.instances.length
    h.timers.advance((pending[0] as number) - 1)
    t.equal(h.sources.instances.length, before, 'not before the delay')
    h.timers.advance(1)
    t.equal(h.sources.instances.length, before + 1, 'reconnects at the delay')
  }
  t.same(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000])
  t.equal(h.errors.length, 8)
  t.ok(h.errors.every((e) => e.code === 'DISCONNECTED' && !e.fatal), 'non-fatal errors')
  t.same(h.errors.map((e) => e.retryInMs), delays, 'each error tells when the next attempt is')

  // An invalid message is not a good message: no reset.
  h.sources.last().open()
  h.sources.last().message({ trackcode: TRACKCODE })
  h.sources.last().drop()
  t.same(h.timers.pending(), [30000])
  h.timers.advance(30000)

  // A good message resets the backoff.
  h.sources.last().open()
  h.sources.last().message(trackedOrder({ version: 1 }))
  h.sources.last().drop()
  t.same(h.timers.pending(), [1000])
  h.timers.advance(1000)
  h.sources.last().drop()
  t.same(h.timers.pending(), [2000])
  h.unsubscribe()
  t.same(h.timers.pending(), [])
})

t.test('jitter adds up to `jitter` × the base delay, and the defaults are 1 s → 30 s', async (t) => {
  t.same({ ...DEFAULT_BACKOFF }, { initialMs: 1000, maxMs: 30000, jitter: 0.5 })
  const h = harness({ backoff: {} })
  const seen: number[] = []
  let base = 1000
  for (let i = 0; i < 30; i++) {
    h.sources.last().drop()
    const [delay] = h.timers.pending()
    seen.push(delay as number)
    t.ok((delay as number) >= base && (delay as number) <= base * 1.5, `delay ${delay} within [${base}, ${base * 1.5}]`)
    h.timers.advance(delay as number)
    base = Math.min(base * 2, 30000)
  }
  t.ok(new Set(seen.slice(5)).size > 1, 'capped delays still vary')
  h.unsubscribe()
})

t.test('stop ends tracking for good', async (t) => {
  const h = harness()
  const es = h.sources.last()
  es.open()
  const done = trackedOrder({ version: 4, status: 'Done' })
  es.message(done)
  es.message({ trackcode: TRACKCODE, status: 'Done', version: 4 }, 'stop')
  t.ok(es.closed)
  t.equal(h.stops.length, 1)
  t.same(h.stops[0]?.stop, { trackcode: TRACKCODE, status: 'Done', version: 4 })
  t.same(h.stops[0]?.order, done, 'with the last snapshot')
  // The server then ends the stream; a browser would fire error and retry.
  es.drop()
  es.message(trackedOrder({ version: 5 }))
  t.same(h.timers.pending(), [], 'no reconnection')
  t.equal(h.sources.instances.length, 1)
  t.equal(h.updates.length, 1)
  t.same(h.errors, [])
})

t.test('an unreadable stop event still stops, reported as a fatal error', async (t) => {
  const h = harness()
  h.sources.last().open()
  h.sources.last().message('{"trackcode":', 'stop')
  t.ok(h.sources.last().closed)
  t.equal(h.errors[0]?.code, 'BAD_RESPONSE')
  t.equal(h.errors[0]?.fatal, true)
  t.same(h.stops, [])
  t.same(h.timers.pending(), [])
})

t.test('tracking events reach onTracking; malformed ones are dropped', async (t) => {
  const h = harness()
  const es = h.sources.last()
  es.open()
  const degraded = { state: 'degraded', reason: 'QUOTA_EXHAUSTED', message: 'Daily quota used up', next_check_at: 1755441793 }
  es.message(degraded, 'tracking')
  es.message({ state: 'broken' }, 'tracking')
  es.message('nope', 'tracking')
  es.message({ state: 'live', reason: null, message: 'Back to normal', next_check_at: 1755441800 }, 'tracking')
  t.same(h.tracking.map((s) => s.state), ['degraded', 'live'])
  t.same(h.tracking[0], degraded)
  t.same(h.timers.pending(), [], 'the stream stays open')
  h.unsubscribe()
})

t.test('a stream refused before opening is probed once; 404 and 400 stop for good', async (t) => {
  for (const [status, code] of [[404, 'NOT_FOUND'], [400, 'BAD_REQUEST']] as const) {
    const message = status === 404 ? 'Order not found' : 'trackcode must be 16 upper-case hexadecimal characters'
    const h = harness({ answers: [json(status, { ok: false, code, message })] })
    h.sources.last().refuse(status)
    await settle()
    t.equal(h.fetcher.calls.length, 1)
    t.equal(h.fetcher.calls[0]?.url, `/orders/${TRACKCODE}`, 'probes the order route')
    t.equal(h.errors.length, 1)
    t.equal(h.errors[0]?.code, code)
    t.equal(h.errors[0]?.message, message, 'the server\'s message')
    t.equal(h.errors[0]?.status, status)
    t.equal(h.errors[0]?.fatal, true)
    t.same(h.timers.pending(), [], 'no retry')
    t.equal(h.sources.instances.length, 1)
  }
})

t.test('a refused stream whose probe fails temporarily is retried with backoff', async (t) => {
  const h = harness({
    answers: [
      json(503, { ok: false, code: 'SERVICE_UNAVAILABLE', message: 'closing' }, { 'retry-after': '5' }),
      new TypeError('fetch failed'),
      json(500, 'not an envelope')
    ]
  })
  h.sources.last().refuse(503)
  await settle()
  t.equal(h.errors[0]?.code, 'SERVICE_UNAVAILABLE')
  t.equal(h.errors[0]?.fatal, false)
  t.same(h.timers.pending(), [5000], 'Retry-After beats the 1 s backoff')
  h.timers.advance(5000)
  t.equal(h.sources.instances.length, 2)
  h.sources.last().refuse()
  await settle()
  t.equal(h.errors[1]?.code, 'NETWORK_ERROR')
  t.same(h.timers.pending(), [2000])
  h.timers.advance(2000)
  h.sources.last().refuse()
  await settle()
  t.equal(h.errors[2]?.code, 'HTTP_500', 'no envelope → HTTP status as code')
  t.same(h.timers.pending(), [4000])
  h.unsubscribe()
})

t.test('a refused stream whose order exists: the snapshot is shown, the stream retried without a reset', async (t) => {
  const h = harness({
    answers: [
      json(200, trackedOrder({ version: 2, status: 'Confirming' })),
      json(200, trackedOrder({ version: 3, status: 'Done' }))
    ]
  })
  h.sources.last().refuse(502)
  await settle()
  t.same(h.updates.map((o) => o.version), [2])
  t.equal(h.errors[0]?.code, 'STREAM_REFUSED')
  t.same(h.timers.pending(), [1000])
  h.timers.advance(1000)
  h.sources.last().refuse(502)
  await settle()
  t.same(h.updates.map((o) => o.status), ['Confirming', 'Done'])
  t.same(h.stops.map((s) => s.stop), [{ trackcode: TRACKCODE, status: 'Done', version: 3 }], 'a final probe answer stops tracking')
  t.same(h.timers.pending(), [])
})

t.test('a dropped stream (after opening) reconnects without probing', async (t) => {
  const h = harness()
  h.sources.last().open()
  h.sources.last().message(trackedOrder({ version: 1 }))
  h.sources.last().refuse()
  t.equal(h.fetcher.calls.length, 0, 'opened before: a plain reconnect')
  t.same(h.timers.pending(), [1000])
  h.unsubscribe()
})

t.test('without EventSource it polls, honouring X-Poll-After, until the order is final', async (t) => {
  const h = harness({
    EventSource: null,
    answers: [
      json(200, trackedOrder({ version: 1, status: 'WaitingForPayment' }), { 'x-poll-after': '7' }),
      json(200, trackedOrder({ version: 1, status: 'WaitingForPayment' }), { 'x-poll-after': '2' }),
      json(200, trackedOrder({ version: 2, status: 'Confirming' })),
      json(200, trackedOrder({ version: 3, status: 'Done' }), { 'x-poll-after': '60' })
    ]
  })
  t.equal(h.sources.instances.length, 0)
  await settle()
  t.equal(h.fetcher.calls.length, 1)
  t.equal(h.fetcher.calls[0]?.url, `/orders/${TRACKCODE}`)
  t.same(h.timers.pending(), [7000])
  h.timers.advance(6999)
  await settle()
  t.equal(h.fetcher.calls.length, 1, 'not before X-Poll-After')
  h.timers.advance(1)
  await settle()
  t.equal(h.fetcher.calls.length, 2)
  t.same(h.updates.map((o) => o.version), [1], 'same version not delivered twice')
  t.same(h.timers.pending(), [2000])
  h.timers.advance(2000)
  await settle()
  t.same(h.timers.pending(), [5000], 'no header → 5 s')
  h.timers.advance(5000)
  await settle()
  t.same(h.updates.map((o) => o.status), ['WaitingForPayment', 'Confirming', 'Done'])
  t.same(h.stops.map((s) => s.stop), [{ trackcode: TRACKCODE, status: 'Done', version: 3 }])
  t.same(h.timers.pending(), [], 'stops polling at Done')
  t.same(h.errors, [])
})

t.test('polling: X-Poll-After is bounded, errors back off, 404 stops', async (t) => {
  const h = harness({
    EventSource: null,
    answers: [
      json(200, trackedOrder({ version: 1 }), { 'x-poll-after': '0' }),
      new TypeError('fetch failed'),
      json(429, { ok: false, code: 'TOO_MANY_REQUESTS', message: 'slow down' }, { 'retry-after': '9' }),
      json(200, '<html>'),
      json(200, trackedOrder({ version: 2 }), { 'x-poll-after': 'soon' }),
      json(404, { ok: false, code: 'NOT_FOUND', message: 'Order not found' })
    ]
  })
  await settle()
  t.same(h.timers.pending(), [1000], 'X-Poll-After 0 → at least 1 s')
  h.timers.advance(1000)
  await settle()
  t.equal(h.errors[0]?.code, 'NETWORK_ERROR')
  t.same(h.timers.pending(), [1000])
  h.timers.advance(1000)
  await settle()
  t.equal(h.errors[1]?.code, 'TOO_MANY_REQUESTS')
  t.same(h.timers.pending(), [9000], 'Retry-After honoured')
  h.timers.advance(9000)
  await settle()
  t.equal(h.errors[2]?.code, 'BAD_RESPONSE', 'an unreadable 200')
  t.same(h.timers.pending(), [4000])
  h.timers.advance(4000)
  await settle()
  t.same(h.timers.pending(), [5000], 'unreadable X-Poll-After → default')
  h.timers.advance(5000)
  await settle()
  t.equal(h.errors[3]?.code, 'NOT_FOUND')
  t.equal(h.errors[3]?.fatal, true)
  t.ok(h.errors.slice(0, 3).every((e) => !e.fatal))
  t.same(h.timers.pending(), [])
  t.same(h.updates.map((o) => o.version), [1, 2])
})

t.test('pollFallback: false without EventSource is a fatal UNSUPPORTED error', async (t) => {
  const h = harness({ EventSource: null, pollFallback: false })
  await settle()
  t.equal(h.fetcher.calls.length, 0)
  t.equal(h.errors[0]?.code, 'UNSUPPORTED')
  t.equal(h.errors[0]?.fatal, true)
})

t.test('unsubscribe stops everything and silences every callback', async (t) => {
  await t.test('while connected', async (t) => {
    const h = harness()
    const es = h.sources.last()
    es.open()
    h.unsubscribe()
    t.ok(es.closed)
    es.message(trackedOrder())
    es.drop()
    t.same(h.updates, [])
    t.same(h.errors, [])
    t.same(h.timers.pending(), [])
  })
  await t.test('while waiting to reconnect', async (t) => {
    const h = harness()
    h.sources.last().drop()
    t.same(h.timers.pending(), [1000])
    h.unsubscribe()
    t.same(h.timers.pending(), [], 'timer cleared')
    h.timers.advance(60_000)
    t.equal(h.sources.instances.length, 1, 'no reconnection')
  })
  await t.test('while a poll is in flight', async (t) => {
    let answer: (res: Response) => void = () => {}
    const h = harness({
      EventSource: null,
      answers: [async () => await new Promise<Response>((resolve) => { answer = resolve })]
    })
    await settle()
    const signal = h.fetcher.calls[0]?.init?.signal ?? undefined
    t.equal(signal?.aborted, false)
    h.unsubscribe()
    t.equal(signal?.aborted, true, 'the request is aborted')
    answer(json(200, trackedOrder(), { 'x-poll-after': '1' }))
    await settle()
    t.same(h.updates, [])
    t.same(h.timers.pending(), [])
  })
  await t.test('while a probe is in flight', async (t) => {
    let answer: (res: Response) => void = () => {}
    const h = harness({ answers: [async () => await new Promise<Response>((resolve) => { answer = resolve })] })
    h.sources.last().refuse(404)
    await settle()
    h.unsubscribe()
    answer(json(404, { ok: false, code: 'NOT_FOUND', message: 'Order not found' }))
    await settle()
    t.same(h.errors, [])
    t.same(h.timers.pending(), [])
  })
})

t.test('an exception in a callback does not break the client', async (t) => {
  const sources = fakeEventSources()
  const timers = new FakeTimers()
  const seen: number[] = []
  const thrown: unknown[] = []
  const original = process.listeners('uncaughtException')
  process.removeAllListeners('uncaughtException')
  const catcher = (err: unknown): void => { thrown.push(err) }
  process.on('uncaughtException', catcher)
  t.teardown(() => {
    process.off('uncaughtException', catcher)
    for (const l of original) process.on('uncaughtException', l)
  })
  const unsubscribe = trackOrder(TRACKCODE, {
    EventSource: sources.EventSource,
    timers,
    onUpdate: (order) => {
      seen.push(order.version)
      throw new Error('listener bug')
    }
  })
  sources.last().open()
  sources.last().message(trackedOrder({ version: 1 }))
  sources.last().message(trackedOrder({ version: 2 }))
  await settle()
  t.same(seen, [1, 2], 'later updates still delivered')
  t.equal(thrown.length, 2, 'the exception is still reported')
  unsubscribe()
})

t.test('TrackingError carries code, status, fatal and retryInMs', async (t) => {
  const e = new TrackingError('NOT_FOUND', 'Order not found', { status: 404, fatal: true })
  t.ok(e instanceof Error)
  t.equal(e.name, 'TrackingError')
  t.equal(e.code, 'NOT_FOUND')
  t.equal(e.status, 404)
  t.equal(e.fatal, true)
  t.equal(e.retryInMs, undefined)
})
