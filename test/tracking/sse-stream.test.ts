/**
 * SseStream over a real socket: a reader that stops reading holds back only the latest
 * snapshot, and never the writer.
 */
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { snapshotFrame, trackingFrame } from '../../src/tracking/frames.js'
import { SSE_HEADERS, SseStream } from '../../src/tracking/sse-stream.js'
import { waitFor } from './fixtures/helpers.js'

interface Served {
  stream: SseStream
  res: http.ServerResponse
  stalls: number
  closed: boolean
}

async function serve (t: Test): Promise<{ port: number, served: () => Promise<Served> }> {
  let resolveServed: (s: Served) => void = () => {}
  const ready = new Promise<Served>((resolve) => { resolveServed = resolve })
  const server = http.createServer((req, res) => {
    const served: Served = { stream: undefined as unknown as SseStream, res, stalls: 0, closed: false }
    served.stream = new SseStream(res, {
      headers: { 'access-control-allow-origin': '*', 'content-type': 'text/plain' },
      onStall: () => { served.stalls++ },
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

t.test('the SSE headers win over the others, which are kept', async (t) => {
  const { port } = await serve(t)
  const res = await fetch(`http://127.0.0.1:${port}/`)
  t.equal(res.headers.get('content-type'), SSE_HEADERS['content-type'])
  t.equal(res.headers.get('cache-control'), 'no-cache, no-transform')
  t.equal(res.headers.get('x-accel-buffering'), 'no')
  t.equal(res.headers.get('access-control-allow-origin'), '*')
  await res.body?.cancel()
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
  s.stream.send(snapshotFrame(201, '{}'), 'snapshot')
  t.pass('sending to a closed stream is a no-op')
})

t.test('a client that disconnects mid-stream is noticed and never written to again', async (t) => {
  const { port, served } = await serve(t)
  const socket = net.connect(port, '127.0.0.1')
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  const s = await served()
  socket.destroy()
  await waitFor(() => s.closed, 'the close hook')
  t.ok(s.stream.closed)
  s.stream.send(snapshotFrame(1, '{}'), 'snapshot')
  s.stream.heartbeat()
  s.stream.finish('bye')
  s.stream.close()
  t.pass('no write after close throws')
})
