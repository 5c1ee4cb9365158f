import t, { type Test } from 'tap'
import { Agent, request } from 'undici'
import { build, type RunningSimulator } from '../helpers/build.js'
import { AUTH, SIM_KEY } from '../helpers/fixtures.js'
import { createMixer } from '../helpers/simulator-requests.js'

/** A listening simulator and a keep-alive-free client for it. */
async function serve (t: Test): Promise<{ s: RunningSimulator, base: string, agent: Agent }> {
  const { sim: s } = await build(t, { instances: 0, clock: 'manual' })
  const agent = new Agent({ pipelining: 0 })
  t.teardown(() => agent.close())
  return { s, base: s.url, agent }
}

t.test('status faults for the next N requests of one route', async (t) => {
  const { s, base, agent } = await serve(t)
  const code: string = (await createMixer(s)).trackcode
  s.control.fail({ mode: 'status500', count: 2, route: 'POST /v1/orders/check' })
  const checkIt = async (): Promise<{ status: number, json: Record<string, unknown>, type: unknown }> => {
    const res = await request(`${base}/v1/orders/check`, {
      method: 'POST', dispatcher: agent, headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ trackcode: code })
    })
    return { status: res.statusCode, type: res.headers['content-type'], json: await res.body.json() as Record<string, unknown> }
  }
  const prices = await request(`${base}/v1/prices`, { dispatcher: agent, headers: AUTH })
  t.equal(prices.statusCode, 200, 'other routes unaffected')
  await prices.body.dump()
  t.same(await checkIt(), { status: 500, type: 'application/json; charset=utf-8', json: { ok: false, code: 'SERVER_ERROR', message: 'Internal server error' } })
  t.equal((await checkIt()).status, 500)
  t.equal((await checkIt()).status, 200)
  t.same(s.control.pendingFaults(), [])
  t.same(s.control.stats().quotaUsed, { [SIM_KEY]: 3 }, 'create, prices and the successful check; faults use no quota')
  t.same(s.control.stats().byStatus, { 200: 3, 500: 2 })
})

t.test('status503, too_many, html, badjson', async (t) => {
  const { s, base, agent } = await serve(t)
  s.control.fail({ mode: 'status503', route: '/v1/prices' })
  s.control.fail({ mode: 'too_many' })
  s.control.fail({ mode: 'html' })
  s.control.fail({ mode: 'badjson' })
  const call = async (): Promise<{ status: number, type: unknown, body: string }> => {
    const res = await request(`${base}/v1/prices`, { dispatcher: agent, headers: AUTH })
    return { status: res.statusCode, type: res.headers['content-type'], body: await res.body.text() }
  }
  let r = await call()
  t.equal(r.status, 503)
  t.same(JSON.parse(r.body), { ok: false, code: 'SERVICE_UNAVAILABLE', message: 'Service temporarily unavailable' })
  r = await call()
  t.equal(r.status, 429)
  t.equal(JSON.parse(r.body).code, 'TOO_MANY_REQUESTS')
  r = await call()
  t.equal(r.status, 502)
  t.equal(r.type, 'text/html; charset=utf-8')
  t.match(r.body, /<html>.*502 Bad Gateway/s)
  r = await call()
  t.equal(r.status, 200)
  t.equal(r.type, 'application/json; charset=utf-8')
  t.throws(() => JSON.parse(r.body), SyntaxError)
  r = await call()
  t.equal(r.status, 200)
  t.ok(JSON.parse(r.body).ok)
})

t.test('reset destroys the socket', async (t) => {
  const { s, base, agent } = await serve(t)
  s.control.fail({ mode: 'reset' })
  await t.rejects(request(`${base}/v1/ping`, { dispatcher: agent }), { code: 'UND_ERR_SOCKET' })
  const ok = await request(`${base}/v1/ping`, { dispatcher: agent })
  t.equal(ok.statusCode, 200)
  await ok.body.dump()
  t.same(s.control.stats().byStatus, { reset: 1, 200: 1 })
})

t.test('truncated sends part of a body, then closes', async (t) => {
  const { s, base, agent } = await serve(t)
  s.control.fail({ mode: 'truncated', route: 'POST /v1/orders/check' })
  const res = await request(`${base}/v1/orders/check`, {
    method: 'POST', dispatcher: agent, headers: { ...AUTH, 'content-type': 'application/json' }, body: '{"trackcode":"6A5FB3BA8A150EC9"}'
  })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  await t.rejects(res.body.text())
  t.same(s.control.stats().byStatus, { truncated: 1 })
})

t.test('hang never answers; close() still returns', async (t) => {
  const { s, base, agent } = await serve(t)
  s.control.fail({ mode: 'hang', count: 1 })
  const started = Date.now()
  await t.rejects(request(`${base}/v1/ping`, { dispatcher: agent, signal: AbortSignal.timeout(300) }))
  t.ok(Date.now() - started >= 290)
  s.control.fail({ mode: 'hang' })
  const pending = request(`${base}/v1/ping`, { dispatcher: agent }).catch((err: Error) => err)
  await new Promise((resolve) => setTimeout(resolve, 50))
  await s.app.close()
  t.type(await pending, Error, 'the hung request fails when the simulator closes')
})

t.test('slow trickles the real answer; delayMs delays other faults', async (t) => {
  const { s, base, agent } = await serve(t)
  s.control.fail({ mode: 'slow', delayMs: 40 })
  let started = Date.now()
  const res = await request(`${base}/v1/meta/mixer`, { dispatcher: agent, headers: AUTH })
  t.equal(res.statusCode, 200)
  const body = await res.body.json() as { ok: boolean, mixer: Record<string, unknown> }
  t.ok(Date.now() - started >= 7 * 40 - 10, 'eight chunks 40 ms apart')
  t.equal(body.ok, true)
  t.ok(body.mixer.BTC)
  t.equal(s.control.stats().quotaUsed[SIM_KEY], 1, 'slow answers are real answers')

  s.control.fail({ mode: 'status500', delayMs: 150 })
  started = Date.now()
  const late = await request(`${base}/v1/ping`, { dispatcher: agent })
  t.equal(late.statusCode, 500)
  await late.body.dump()
  t.ok(Date.now() - started >= 140)
})

t.test('fault API over HTTP and validation', async (t) => {
  const { s, base, agent } = await serve(t)
  const postJson = async (path: string, body: unknown): Promise<{ status: number, json: Record<string, unknown> }> => {
    const res = await request(`${base}${path}`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return { status: res.statusCode, json: await res.body.json() as Record<string, unknown> }
  }
  let r = await postJson('/_sim/faults', { mode: 'status503', count: 3, route: '/v1/ping' })
  t.equal(r.status, 200)
  t.same(r.json, { ok: true, faults: [{ mode: 'status503', count: 3, route: '/v1/ping' }] })
  r = await postJson('/_sim/faults', { mode: 'explode' })
  t.equal(r.status, 400)
  t.equal(r.json.code, 'BAD_REQUEST')
  r = await postJson('/_sim/faults', { mode: 'reset', count: 0 })
  t.equal(r.status, 400)

  const ping = await request(`${base}/v1/ping`, { dispatcher: agent })
  t.equal(ping.statusCode, 503)
  await ping.body.dump()
  const list = await request(`${base}/_sim/faults`, { dispatcher: agent })
  t.same(await list.body.json(), { ok: true, faults: [{ mode: 'status503', count: 2, route: '/v1/ping' }] })
  const del = await request(`${base}/_sim/faults`, { method: 'DELETE', dispatcher: agent })
  t.same(await del.body.json(), { ok: true })
  const again = await request(`${base}/v1/ping`, { dispatcher: agent })
  t.equal(again.statusCode, 200)
  await again.body.dump()

  t.throws(() => s.control.fail({ mode: 'reset', count: 1.5 }), { name: 'SimControlError', statusCode: 400 })
  t.throws(() => s.control.fail({ mode: 'reset', delayMs: -1 }), { name: 'SimControlError', statusCode: 400 })
  s.control.fail({ mode: 'html', delayMs: 5 })
  t.same(s.control.pendingFaults(), [{ mode: 'html', count: 1, delayMs: 5 }])
  s.control.clearFaults()
  t.same(s.control.pendingFaults(), [])
})
