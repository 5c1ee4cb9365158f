/**
 * GET /orders/:trackcode/subscribe over real HTTP, read raw off the wire.
 */
import t from 'tap'
import { build, type Built } from '../../helpers/build.js'
import { MIN, createOrder, SIM_KEY } from '../../helpers/fixtures.js'
import { isSnapshot, isStop, openRaw, order, withStatus, type RawStream } from '../../helpers/sse-reader.js'
import { waitFor } from '../../helpers/wait-for.js'

/** Walks an order from creation to Done, waiting for each step on `stream`. */
async function walkToDone (s: Built, code: string, stream: RawStream): Promise<void> {
  await stream.next(withStatus('WaitingForPayment'))
  s.sim.control.pay(code)
  await stream.next(withStatus('Confirming'))
  s.clock.advance(2 * MIN) // confirmed: output 1 (no delay) is sent at once
  await stream.next((e) => isSnapshot(e) && order(e).outputs[0].state === 2)
  s.clock.advance(MIN) // output 1 confirmed
  await stream.next((e) => isSnapshot(e) && order(e).outputs[0].confirm === 1)
  s.clock.advance(119 * MIN) // output 2 (120 min delay from the start) sent
  await stream.next((e) => isSnapshot(e) && order(e).outputs[1].state === 2)
  s.clock.advance(MIN) // output 2 confirmed
  await stream.next(isStop)
}

t.test('a subscriber gets the snapshot at once, each real change once, then stop', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true })
  const code = await createOrder(s.sim)
  const stream = await openRaw(`${s.url}/orders/${code}/subscribe`)
  t.equal(stream.status, 200)
  t.match(stream.headers, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no'
  })
  await walkToDone(s, code, stream)
  await waitFor(() => stream.ended(), 'the server to end the stream')

  const [retry, ...rest] = stream.events
  t.same(retry, { event: 'retry', retry: 500 }, 'the stream starts with the retry hint')
  const snapshots = rest.filter(isSnapshot)
  t.same(snapshots.map((e) => e.id), ['1', '2', '3', '4', '5', '6'], 'ids are the versions: from 1, +1 per change, no duplicates')
  t.same(snapshots.map((e) => order(e).version), [1, 2, 3, 4, 5, 6])
  t.same(snapshots.map((e) => order(e).status), ['WaitingForPayment', 'Confirming', 'WaitingForDelivery', 'WaitingForDelivery', 'WaitingForDelivery', 'Done'])
  const last = order(snapshots.at(-1) ?? { event: 'none' })
  t.equal(last.trackcode, code)
  t.equal(last.type, 'mixer')
  t.ok(last.outputs.every((o: { state: number, confirm: number, send_at: number }) => o.state === 2 && o.confirm === 1 && Number.isInteger(o.send_at)))
  t.notOk(stream.text().includes('left_seconds'), 'ticking countdowns are not in the payload')
  t.notOk(stream.text().includes('delete_in_sec'))
  t.notOk(stream.text().includes(SIM_KEY), 'the API key never reaches a subscriber')
  const stop = rest.at(-1)
  t.equal(stop?.event, 'stop', 'stop is the last event')
  t.same(JSON.parse(stop?.data ?? ''), { trackcode: code, status: 'Done', version: 6 })
  t.equal(s.app.tracking.stats().pollers, 0, 'the poller stopped with the order')
})

t.test('countdown ticks emit nothing, even seen through a clock off by up to a second', async (t) => {
  const jitter = (): number => Math.round((Math.random() * 2 - 1) * 900)
  for (const [label, offset] of [['same clock', () => 0], ['jittered clock', jitter]] as const) {
    await t.test(label, async (t) => {
      const s = await build(t, { clock: 'manual', fast: true, clockSkew: offset })
      const code = await createOrder(s.sim)
      s.sim.control.pay(code)
      s.clock.advance(2 * MIN)
      const stream = await openRaw(`${s.url}/orders/${code}/subscribe`)
      const first = await stream.next(isSnapshot)
      t.equal(order(first).status, 'WaitingForDelivery')
      s.clock.advance(MIN)
      const confirmed = await stream.next((e) => isSnapshot(e) && order(e).outputs[0].confirm === 1)
      const eventsBefore = stream.events.length
      // Output 2 counts down for 2 hours: walk 30 minutes of it, check by check.
      for (let i = 0; i < 6; i++) {
        s.clock.advance(5 * MIN - 37)
        const seen = s.checks()
        await waitFor(() => s.checks() >= seen + 1, 'another check')
      }
      t.equal(stream.events.length, eventsBefore, 'no event while only countdowns moved')
      s.clock.advance(90 * MIN)
      const sent = await stream.next((e) => isSnapshot(e) && order(e).outputs[1].state === 2, eventsBefore)
      t.equal(Number(sent.id), Number(confirmed.id) + 1, 'the next real change is the next version')
      t.equal(order(sent).outputs[1].send_at, order(confirmed).outputs[1].send_at, 'the planned send time did not drift')
      stream.close()
    })
  }
})

t.test('Last-Event-ID: the current version gets no duplicate, anything else the snapshot', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true, config: { sseHeartbeatMs: 150 } })
  const code = await createOrder(s.sim)
  const a = await openRaw(`${s.url}/orders/${code}/subscribe`)
  t.equal((await a.next(isSnapshot)).id, '1')

  const same = await openRaw(`${s.url}/orders/${code}/subscribe`, { 'last-event-id': '1' })
  await same.next((e) => e.event === 'comment')
  t.same(same.events.map((e) => e.event), ['retry', 'comment'], 'retry hint, then only heartbeats')

  for (const id of ['0', 'not-a-version', '17']) {
    const other = await openRaw(`${s.url}/orders/${code}/subscribe`, { 'last-event-id': id })
    t.equal((await other.next(isSnapshot)).id, '1', `Last-Event-ID ${id} → the current snapshot`)
    other.close()
  }

  s.sim.control.pay(code)
  t.equal((await same.next(isSnapshot)).id, '2', 'the resumed stream gets the next change')
  t.equal((await a.next(isSnapshot, 2)).id, '2')
  t.equal(s.app.tracking.stats().pollers, 1, 'one poller for every subscriber')
  a.close()
  same.close()
})

t.test('heartbeat comments keep idle streams open', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true, config: { sseHeartbeatMs: 100 } })
  const code = await createOrder(s.sim)
  const stream = await openRaw(`${s.url}/orders/${code}/subscribe`)
  const beat = await stream.next((e) => e.event === 'comment')
  t.equal(beat.comment, 'keep-alive')
  t.ok(stream.text().includes('\n: keep-alive\n\n'))
  stream.close()
})

t.test('a malformed trackcode is a 400 envelope, not a stream, and costs no check', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true })
  for (const bad of ['6a5fb3ba8a150ec9', '6A5FB3BA8A150EC', '6A5FB3BA8A150EC9A', 'ZZZZZZZZZZZZZZZZ', '6A5FB3BA8A150EC%20']) {
    const res = await fetch(`${s.url}/orders/${bad}/subscribe`, { headers: { accept: 'text/event-stream' } })
    t.equal(res.status, 400, bad)
    t.match(res.headers.get('content-type'), /application\/json/)
    const body = await res.json() as { ok: boolean, code: string, message: string }
    t.equal(body.ok, false)
    t.equal(body.code, 'BAD_REQUEST')
    t.match(body.message, /^trackcode /, 'the message names the field')
  }
  t.equal(s.checks(), 0)
})

t.test('an unknown order is a 404 envelope, remembered without asking upstream again', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true })
  const unknown = '0123456789ABCDEF'
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${s.url}/orders/${unknown}/subscribe`, { headers: { accept: 'text/event-stream' } })
    t.equal(res.status, 404)
    t.same(await res.json(), { ok: false, code: 'NOT_FOUND', message: `Order ${unknown} not found` })
  }
  const poll = await fetch(`${s.url}/orders/${unknown}`)
  t.equal(poll.status, 404, 'the polling fallback shares the memory')
  t.equal(s.checks(), 1, 'one upstream check for four requests')
  t.equal(s.app.tracking.stats().topics, 0, 'nothing left behind')
})

t.test('a finished order: later subscribers get the final snapshot and stop at once, with no new check', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true })
  const code = await createOrder(s.sim)
  const first = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await walkToDone(s, code, first)
  const checks = s.checks()

  const late = await openRaw(`${s.url}/orders/${code}/subscribe`)
  await waitFor(() => late.ended(), 'the late stream to end')
  t.same(late.events.map((e) => e.event), ['retry', 'message', 'stop'])
  t.equal(late.events[1]?.id, '6')
  t.equal(order(late.events[1] ?? { event: 'none' }).status, 'Done')

  const resumed = await openRaw(`${s.url}/orders/${code}/subscribe`, { 'last-event-id': '6' })
  await waitFor(() => resumed.ended(), 'the resumed stream to end')
  t.same(resumed.events.map((e) => e.event), ['retry', 'stop'], 'a browser that has the final version only gets stop')
  t.equal(s.checks(), checks, 'no upstream call while the final snapshot is cached')
})

t.test('an order that vanishes upstream turns Gone and the stream stops', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true })
  for (const how of ['expired', 'deleted']) {
    const code = await createOrder(s.sim)
    const stream = await openRaw(`${s.url}/orders/${code}/subscribe`)
    const first = await stream.next(isSnapshot)
    if (how === 'expired') {
      s.sim.control.expire(code)
    } else {
      const res = await fetch(`${s.sim.baseUrl}/orders/delete`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SIM_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ trackcode: code })
      })
      t.equal(res.status, 200)
    }
    const gone = await stream.next(withStatus('Gone'))
    t.equal(gone.id, '2', `${how}: a new version`)
    t.same({ ...order(gone), status: 'X', version: 0, updated_at: 0 }, { ...order(first), status: 'X', version: 0, updated_at: 0 }, 'the last known data, marked Gone')
    const stop = await stream.next(isStop)
    t.same(JSON.parse(stop.data ?? ''), { trackcode: code, status: 'Gone', version: 2 })
    await waitFor(() => stream.ended(), 'the stream to end')
  }
})
