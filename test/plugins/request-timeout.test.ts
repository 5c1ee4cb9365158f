/**
 * REQUEST_TIMEOUT_MS bounds receiving a request, not answering it: a body trickled one
 * byte per second gets 408 in the envelope and its connection closed, while an event
 * stream open far longer than the timeout keeps receiving its heartbeats.
 */
import t from 'tap'
import { build } from '../helpers/build.js'
import { createOrder } from '../helpers/fixtures.js'
import { slowPost } from '../helpers/slow-client.js'
import { openRaw } from '../helpers/sse-reader.js'
import { waitFor } from '../helpers/wait-for.js'

const TIMEOUT_MS = 1000

t.test('a body sent one byte per second past the timeout: 408 in the envelope, connection closed, no upstream call', async (t) => {
  const { gw, checks } = await build(t, { config: { requestTimeoutMs: TIMEOUT_MS } })
  const client = slowPost(gw.url, '/v1/orders/check')
  t.teardown(() => { client.socket.destroy() })
  await client.done
  const m = /^HTTP\/1\.1 (\d{3}) [^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(client.received())
  t.ok(m, `an HTTP answer: ${JSON.stringify(client.received())}`)
  t.equal(m?.[1], '408')
  t.match(m?.[2], /content-type: application\/json/i)
  t.match(m?.[2], /connection: close/i)
  t.same(JSON.parse(m?.[3] ?? 'null'), { ok: false, code: 'REQUEST_TIMEOUT', message: 'The request took too long to arrive' })
  t.ok(client.sent() < 1000, `cut before the body was complete (${client.sent()} bytes of 1000)`)
  t.equal(checks(), 0, 'nothing reached upstream')
})

t.test('an event stream open longer than the timeout keeps receiving heartbeats', async (t) => {
  const heartbeatMs = 200
  const { gw, sim } = await build(t, { fast: true, config: { requestTimeoutMs: TIMEOUT_MS, sseHeartbeatMs: heartbeatMs } })
  const code = await createOrder(sim)
  const stream = await openRaw(`${gw.url}/orders/${code}/subscribe`)
  t.teardown(() => { stream.close() })
  t.equal(stream.status, 200)
  const heartbeats = (): number => stream.events.filter((e) => e.event === 'comment').length
  // Heartbeats spanning four timeouts (and several of Node's connection checks).
  const wanted = Math.ceil((4 * TIMEOUT_MS) / heartbeatMs)
  await waitFor(() => heartbeats() >= wanted || stream.ended(), `${wanted} heartbeats`, 30_000)
  t.equal(stream.ended(), false, 'the stream is still open')
  t.ok(heartbeats() >= wanted, `${heartbeats()} heartbeats received`)
})
