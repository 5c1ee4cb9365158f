/**
 * SseStream over a real socket: a reader that stops reading holds back only the latest
 * snapshot, and never the writer; the default stall policy; hanging up.
 */
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { snapshotFrame, trackingFrame } from '../../src/tracking/frames.js'
import { DOCUMENT_ONLY_HEADERS, SSE_HEADERS, SseStream } from '../../src/tracking/sse-stream.js'
import { stallGuard } from '../../src/tracking/stall-guard.js'
import { waitFor } from '../helpers/wait-for.js'

interface Served {
  stream: SseStream
  res: http.ServerResponse
  stalls: number
  closed: boolean
}

async function serve (t: Test, onStall?: (stream: SseStream) => void): Promise<{ port: number, served: () => Promise<Served> }> {
  let resolveServed: (s: Served) => void = () => {}
  const ready = new Promise<Served>((resolve) => { resolveServed = resolve })
  const server = http.createServer((req, res) => {
    const served: Served = { stream: undefined as unknown as SseStream, res, stalls: 0, closed: false }
    served.stream = new SseStream(res, {
      headers: { 'access-control-allow-origin': '*', 'content-type': 'text/plain' },
      onStall: (stream) => {
        served.stalls++
        onStall?.(stream)
      },
      onClose: () => { served.closed = true }
    })
    served.stream.open('retry: 1000\n\n')
    resolveServed(served)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return { port: (server.address() as AddressInfo).port, served: async () => await ready }
}

/** Counts the writes and ends `res` gets from now on. */
function countWrites (res: http.ServerResponse): () => number {
  let calls = 0
  const write = res.write.bind(res) as (...args: unknown[]) => boolean
  const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse
  res.write = ((...args: unknown[]) => { calls++; return write(...args) }) as typeof res.write
  res.end = ((...args: unknown[]) => { calls++; return end(...args) }) as typeof res.end
  return () => calls
}

t.test('the SSE headers win over the others, which are kept', async (t) => {
  const { port } = await serve(t)
  const res = await fetch(`http://127.0.0.1:${port}/`)
  t.equal(res.headers.get('content-type'), SSE_HEADERS['content-type'])
  t.equal(res.headers.get('cache-control'), 'no-cache, no-transform')
  t.equal(res.headers.get('x-accel-buffering'), 'no')
  t.equal(res.headers.get('access-control-allow-origin'), '*')
  await res.body?.cancel()
})

t.test('document-only security headers set on the response are not sent on a stream; nosniff is', async (t) => {
  const server = http.createServer((req, res) => {
    // As @fastify/helmet does, on the raw response, before the route runs.
    res.setHeader('content-security-policy', "default-src 'self'")
    res.setHeader('strict-transport-security', 'max-age=15552000')
    res.setHeader('x-frame-options', 'SAMEORIGIN')
    res.setHeader('trackgate-simulated', 'true')
    const stream = new SseStream(res, { headers: { vary: 'Origin' } })
    stream.open('retry: 1000\n\n')
    stream.finish()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
  t.equal(await res.text(), 'retry: 1000\n\n')
  t.equal(res.headers.get('x-content-type-options'), 'nosniff')
  t.equal(res.headers.get('content-type'), 'text/event-stream')
  t.equal(res.headers.get('trackgate-simulated'), 'true', 'the gateway\'s own headers stay')
  t.equal(res.headers.get('vary'), 'Origin', 'headers given to the stream stay')
  for (const name of DOCUMENT_ONLY_HEADERS) t.equal(res.headers.get(name), null, `no ${name}`)
})

t.test('a stalled reader gets the latest snapshot, not every one, and does not grow memory', async (t) => {
  const { port, served } = await serve(t)
  // A raw client that reads the head, then stops reading.
  const socket = net.connect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n')
  const s = await served()
  socket.pause()

  const big = 'x'.repeat(64 * 1024)
  for (let v = 1; v <= 200; v++) {
    s.stream.send(snapshotFrame(v, `{"v":${v},"pad":"${big}"}`), 'snapshot')
    if (v % 50 === 0) s.stream.send(trackingFrame({ state: 'degraded', reason: 'UPSTREAM_TIMEOUT', message: `at ${v}`, next_check_at: v }), 'tracking')
    s.stream.heartbeat()
  }
  t.ok(s.stream.lagging, 'the stream noticed it lags')
  t.equal(s.stalls, 1, 'the stall hook ran once for this episode')
  t.ok(s.res.writableLength < 4 * big.length, `buffered ${s.res.writableLength} bytes: not 200 snapshots`)

  let text = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => { text += chunk })
  socket.resume()
  await waitFor(() => text.includes('"v":200,'), 'the latest snapshot')
  await waitFor(() => text.includes('at 200'), 'the latest tracking state')
  const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
  t.ok(ids.length < 200, `${ids.length} of 200 snapshots written: intermediate ones skipped`)
  t.same(ids, [...ids].sort((a, b) => a - b), 'in order')
  t.equal(ids.at(-1), 200, 'the last one is the latest')
  t.notOk(text.includes('at 100'), 'held tracking states are replaced by newer ones')
  t.equal(s.stream.lagging, false)

  s.stream.finish('event: stop\ndata: {}\n\n')
  await waitFor(() => text.includes('event: stop'), 'stop')
  await waitFor(() => s.closed, 'the close hook')
  t.ok(s.stream.closed)
  const writes = countWrites(s.res)
  s.stream.send(snapshotFrame(201, '{}'), 'snapshot')
  t.equal(writes(), 0, 'sending to a closed stream is a no-op')
})

t.test('a client that disconnects mid-stream is noticed and never written to again', async (t) => {
  const { port, served } = await serve(t)
  const socket = net.connect(port, '127.0.0.1')
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  const s = await served()
  socket.destroy()
  await waitFor(() => s.closed, 'the close hook')
  t.ok(s.stream.closed)
  const writes = countWrites(s.res)
  s.stream.send(snapshotFrame(1, '{}'), 'snapshot')
  s.stream.heartbeat()
  s.stream.finish('bye')
  s.stream.close()
  t.equal(writes(), 0, 'nothing is written to the response after the close (and nothing throws)')
  t.equal(s.stalls, 0, 'a gone client is not taken for a stalled one')
  t.equal(s.stream.lagging, false)
})

t.test('the default stall policy cuts a stream that stays stalled, not one that catches up', async (t) => {
  const big = 'x'.repeat(64 * 1024)
  /** Offers 32 MB of snapshots, one per event-loop turn: more than the socket buffers of a reader that stopped reading hold. */
  const fill = async (s: Served): Promise<void> => {
    for (let v = 1; v <= 512; v++) {
      s.stream.send(snapshotFrame(v, `{"pad":"${big}"}`), 'snapshot')
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  await t.test('stalled for longer than the timeout: cut', async (t) => {
    const cut: SseStream[] = []
    const { port, served } = await serve(t, (s) => stallGuard({ timeoutMs: 300, onDisconnect: (stream) => { cut.push(stream) } })(s))
    const socket = net.connect(port, '127.0.0.1')
    t.teardown(() => socket.destroy())
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    const s = await served()
    socket.pause()
    await fill(s)
    t.ok(s.stream.lagging, 'the reader stalled')
    await waitFor(() => s.closed, 'the stream to be cut')
    t.same(cut, [s.stream], 'reported once')
  })

  await t.test('a reader that catches up in time keeps its stream', async (t) => {
    const cut: SseStream[] = []
    const { port, served } = await serve(t, (s) => stallGuard({ timeoutMs: 3000, onDisconnect: (stream) => { cut.push(stream) } })(s))
    const socket = net.connect(port, '127.0.0.1')
    t.teardown(() => socket.destroy())
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    const s = await served()
    socket.pause()
    await fill(s)
    t.ok(s.stream.lagging)
    socket.on('data', () => {})
    socket.resume()
    await waitFor(() => !s.stream.lagging, 'the stream to drain')
    // Past the timeout of the last episode, the stream is still there.
    await new Promise((resolve) => setTimeout(resolve, 3200))
    t.notOk(s.closed, 'not cut')
    t.same(cut, [])
    s.stream.finish()
  })

  await t.test('more than maxBufferedBytes still waiting in the process a second into the stall: cut then', async (t) => {
    const { port, served } = await serve(t, (s) => stallGuard({ timeoutMs: 60_000, maxBufferedBytes: 1024 })(s))
    const socket = net.connect(port, '127.0.0.1')
    t.teardown(() => socket.destroy())
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    const s = await served()
    socket.pause()
    await fill(s)
    t.ok(s.stream.bufferedBytes > 1024)
    await waitFor(() => s.closed, 'the stream to be cut')
  })
})

t.test('hangUp ends the response and the connection', async (t) => {
  const { port, served } = await serve(t)
  const socket = net.connect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  let text = ''
  let ended = false
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => { text += chunk })
  socket.on('end', () => { ended = true })
  // A keep-alive request: without hangUp the server would keep the connection.
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n')
  const s = await served()
  s.stream.hangUp('retry: 1234\n\n')
  await waitFor(() => ended, 'the server to close the connection')
  t.ok(text.indexOf('retry: 1234\n\n') > text.indexOf('retry: 1000\n\n'), 'the farewell after what was sent before')
  t.ok(text.endsWith('\r\n0\r\n\r\n'), 'then the end of the chunked body: a complete response, not a cut')
  t.ok(s.stream.closed)
})
