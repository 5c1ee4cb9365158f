/**
 * HTTP/2 for browsers with many tabs: with `TLS_CERT_FILE`/`TLS_KEY_FILE` the gateway
 * serves HTTP/2 over TLS (HTTP/1.1 still accepted through ALPN). A real Chromium page
 * holds 10 live `EventSource`s to the one origin — past the 6 HTTP/1.1 connections a
 * browser allows per origin — and each receives its order's updates, all over one
 * HTTP/2 connection; heartbeats flow over HTTP/2 too. The certificate is a self-signed
 * one made here with `openssl` (installed by `.ci/run`).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { connect, type ServerHttp2Stream } from 'node:http2'
import { get } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { chromium, type Browser } from 'playwright-core'
import { HEARTBEAT_FRAME } from '../../src/tracking/frames.js'
import { build } from '../helpers/build.js'
import { createOrder } from '../helpers/fixtures.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const LONG = 60_000
const TABS = 10

/** A self-signed certificate for 127.0.0.1 and localhost, removed when `t` ends. */
function selfSigned (t: Test): { cert: string, key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'trackgate-tls-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'
  ], { stdio: 'ignore' })
  return { cert, key }
}

async function launch (t: Test): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync', '--ignore-certificate-errors']
  })
  t.teardown(async () => await browser.close())
  return browser
}

t.test('10 EventSources on one page, one HTTP/2 connection, every one updated', async (t) => {
  const tls = selfSigned(t)
  const { gw, sim } = await build(t, { fast: true, config: { tlsCertFile: tls.cert, tlsKeyFile: tls.key } })
  t.match(gw.url, /^https:\/\//, 'the gateway serves HTTPS')

  // What the server saw: TLS connections, and HTTP/2 streams by path.
  let connections = 0
  const subscribeStreams: string[] = []
  gw.app.server.on('secureConnection', () => { connections++ })
  gw.app.server.on('stream', (_stream: ServerHttp2Stream, headers: Record<string, string>) => {
    if (headers[':path']?.endsWith('/subscribe') === true) subscribeStreams.push(headers[':path'])
  })

  const trackcodes: string[] = []
  for (let i = 0; i < TABS; i++) trackcodes.push(await createOrder(sim))

  const browser = await launch(t)
  const page = await browser.newPage({ ignoreHTTPSErrors: true })
  page.setDefaultTimeout(LONG)
  // A page of the gateway's own (its CSP allows `connect-src 'self'`); JSON answers carry
  // `default-src 'none'`, under which a browser refuses an EventSource.
  await page.goto(`${gw.url}/`)
  await page.evaluate((codes) => {
    const seen: Record<string, number> = {}
    ;(window as unknown as { seen: Record<string, number> }).seen = seen
    for (const code of codes) {
      const source = new EventSource(`/orders/${code}/subscribe`)
      source.addEventListener('message', (event) => {
        const version = (JSON.parse(event.data as string) as { version: number }).version
        seen[code] = Math.max(seen[code] ?? 0, version)
      })
    }
  }, trackcodes)

  const versions = async (): Promise<Record<string, number>> => await page.evaluate(() => ({ ...(window as unknown as { seen: Record<string, number> }).seen }))
  await page.waitForFunction((n) => Object.keys((window as unknown as { seen: object }).seen).length === n, TABS)
  const first = await versions()
  t.equal(Object.keys(first).length, TABS, `all ${TABS} streams got their first snapshot`)

  for (const code of trackcodes) sim.control.pay(code)
  await page.waitForFunction(([codes, before]) => {
    const seen = (window as unknown as { seen: Record<string, number> }).seen
    return (codes as string[]).every((c) => (seen[c] ?? 0) > ((before as Record<string, number>)[c] ?? 0))
  }, [trackcodes, first] as const)
  const after = await versions()
  for (const code of trackcodes) t.ok((after[code] ?? 0) > (first[code] ?? 0), `${code}: the payment reached its stream (v${first[code]} → v${after[code]})`)

  const protocols = await page.evaluate(async () => {
    await (await fetch('/healthz')).text()
    return performance.getEntries()
      .filter((e) => e.entryType === 'navigation' || e.entryType === 'resource')
      .map((e) => (e as PerformanceResourceTiming).nextHopProtocol)
  })
  t.ok(protocols.length >= 2 && protocols.every((p) => p === 'h2'), `the page's requests went over HTTP/2 (${protocols.join(', ')})`)
  t.equal(subscribeStreams.length, TABS, 'every EventSource is an HTTP/2 stream')
  t.equal(connections, 1, 'all of them over one connection')
})

t.test('heartbeats over HTTP/2, and HTTP/1.1 still accepted', async (t) => {
  const tls = selfSigned(t)
  const { gw, sim } = await build(t, { fast: true, config: { tlsCertFile: tls.cert, tlsKeyFile: tls.key, sseHeartbeatMs: 200 } })
  const trackcode = await createOrder(sim)

  const session = connect(gw.url, { rejectUnauthorized: false })
  t.teardown(() => { session.destroy() })
  const stream = session.request({ ':path': `/orders/${trackcode}/subscribe`, accept: 'text/event-stream' })
  const headers = await new Promise<Record<string, unknown>>((resolve) => { stream.once('response', resolve) })
  t.equal(headers[':status'], 200)
  t.equal(headers['content-type'], 'text/event-stream')
  t.equal(headers.connection, undefined, 'no Connection header (HTTP/2 forbids it)')
  t.equal(headers['x-content-type-options'], 'nosniff', 'security headers as over HTTP/1.1')
  let received = ''
  await new Promise<void>((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8')
      if (received.includes('data: ') && received.includes(HEARTBEAT_FRAME)) resolve()
    })
  })
  t.match(received, /data: \{/, 'the snapshot arrived')
  t.ok(received.includes(HEARTBEAT_FRAME), 'and a heartbeat after it')
  stream.close()

  const http1 = await new Promise<{ status: number, version: string, body: string }>((resolve, reject) => {
    get(`${gw.url}/healthz`, { rejectUnauthorized: false }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString('utf8') })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, version: res.httpVersion, body }) })
    }).on('error', reject)
  })
  t.same(http1, { status: 200, version: '1.1', body: '{"ok":true,"status":"alive"}' }, 'a client without ALPN h2 is served HTTP/1.1')
})
