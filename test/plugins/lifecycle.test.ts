import t from 'tap'
import { connect } from 'node:net'
import { spawn } from 'node:child_process'
import { build } from '../helpers/build.js'
import { mixerOrder } from '../helpers/fixtures.js'
import { request } from '../helpers/http.js'
import { waitFor } from '../helpers/wait-for.js'

/** Resolves true when a TCP connection to `url` is refused. */
async function refused (url: string): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return await new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    socket.once('connect', () => { socket.destroy(); resolve(false) })
    socket.once('error', () => { resolve(true) })
  })
}

t.test('a shutdown stops accepting, lets in-flight requests finish, then closes', async (t) => {
  const { gw, sim, calls } = await build(t)
  const events: string[] = []
  gw.app.lifecycle.onShutdown(() => { events.push('onShutdown') })

  // A request that takes a while: upstream trickles its answer.
  sim.control.fail({ mode: 'slow', route: 'GET /v1/ping', count: 1, delayMs: 150 })
  const inFlight = request(`${gw.url}/v1/ping`)
  await waitFor(() => calls('GET /v1/ping') === 1, 'the request to reach upstream', 10_000)
  t.equal(gw.app.lifecycle.inFlight, 1)

  const shutdown = gw.app.lifecycle.shutdown({ timeoutMs: 20_000 }).then(() => { events.push('closed') })
  t.equal(gw.app.lifecycle.shuttingDown, true)
  t.ok(await refused(gw.url), 'new connections are refused')

  const res = await inFlight
  t.equal(res.status, 200, 'the in-flight request got its answer')
  t.equal(res.json.ok, true)
  t.equal(res.headers.get('connection'), 'close', 'and was told not to reuse the connection')
  await shutdown
  t.same(events, ['onShutdown', 'closed'])
  t.equal(gw.app.server.listening, false)
  t.equal(gw.app.lifecycle.inFlight, 0)
})

t.test('requests still running at the deadline are cut', async (t) => {
  const { gw, sim, calls } = await build(t, { config: { upstreamTimeoutMs: 30_000 } })
  sim.control.fail({ mode: 'hang', route: 'GET /v1/ping', count: 1 })
  const inFlight = request(`${gw.url}/v1/ping`).then(() => 'answered', () => 'cut')
  await waitFor(() => calls('GET /v1/ping') === 1, 'the request to reach upstream', 10_000)
  const started = Date.now()
  await gw.app.lifecycle.shutdown({ timeoutMs: 1500 })
  t.ok(Date.now() - started < 15_000, 'closing did not wait for the hung upstream call (30 s timeout)')
  t.equal(await inFlight, 'cut', 'the client was cut rather than answered')
})

t.test('event streams are not waited for: they are ended', async (t) => {
  const { gw } = await build(t, { config: { pollIntervalMs: 100, pollWaitingPaymentMs: 100 } })
  const created = await request(`${gw.url}/v1/mixer/orders`, { body: mixerOrder() })
  const stream = await fetch(`${gw.url}/orders/${created.json.trackcode as string}/subscribe`)
  t.equal(stream.status, 200)
  const reader = stream.body?.getReader()
  const first = await reader?.read()
  t.ok(first !== undefined && !first.done, 'the stream is open')
  await waitFor(() => gw.app.lifecycle.inFlight === 0, 'the stream to be told apart from requests', 10_000)

  const started = Date.now()
  await gw.app.lifecycle.shutdown({ timeoutMs: 60_000 })
  t.ok(Date.now() - started < 30_000, 'the shutdown did not wait out its deadline for the stream')
  const ended = await (async () => {
    try {
      if (reader !== undefined) for (let r = await reader.read(); !r.done; r = await reader.read()) { /* drain */ }
      return 'ended'
    } catch {
      return 'cut'
    }
  })()
  t.ok(ended === 'ended' || ended === 'cut', 'the stream is over')
})

t.test('a plain app.close() runs the shutdown handlers once', async (t) => {
  const { gw } = await build(t)
  let calls = 0
  gw.app.lifecycle.onShutdown(async () => { calls++ })
  gw.app.lifecycle.onShutdown(() => { throw new Error('a failing handler does not stop the others') })
  await gw.app.close()
  t.equal(calls, 1)
  t.equal(gw.app.lifecycle.shuttingDown, true)
})

t.test('the server process exits 0 on SIGTERM after finishing its request', async (t) => {
  const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', 'src/server.ts'], {
    cwd: process.cwd(),
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SECRETCRYPTOS_API_KEY: '', SHUTDOWN_TIMEOUT_MS: '20000' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  child.stdout.on('data', (chunk) => { out += String(chunk) })
  child.stderr.on('data', (chunk) => { out += String(chunk) })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

  await waitFor(() => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.test(out), 'the server to start', 60_000)
  const url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] as string
  const simUrl = /"upstream":"(http:\/\/127\.0\.0\.1:\d+)\/v1"/.exec(out)?.[1] as string
  t.ok(simUrl, 'the embedded simulator is in use')
  const fault = await request(`${simUrl}/_sim/faults`, { body: { mode: 'slow', route: 'GET /v1/ping', count: 1, delayMs: 150 } })
  t.ok(fault.status < 300, 'slow ping armed')

  const inFlight = request(`${url}/v1/ping`)
  await waitFor(async () => ((await request(`${simUrl}/_sim/stats`)).json.byRoute['GET /v1/ping'] ?? 0) === 1, 'the ping to reach upstream', 10_000)
  child.kill('SIGTERM')
  const res = await inFlight
  t.equal(res.status, 200, 'the in-flight request finished')
  t.equal(await exited, 0, 'clean exit')
  t.match(out, /"msg":"shutting down"/)
  t.match(out, /"msg":"shut down"/)
})
