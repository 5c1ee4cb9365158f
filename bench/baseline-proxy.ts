/**
 * Benchmark child: the per-client proxy the gateway replaces — the seed's pattern
 * (`/api/orders/{id}/subscribe` re-streaming an upstream connection per browser)
 * applied to an upstream that has no stream, only `/orders/check`: **each subscriber
 * polls upstream on its own** and every answer is forwarded as a `data:` event.
 *
 * It is deliberately straightforward, as such a proxy is written: per connection one
 * check at once (the first event) and one per interval after that (with a random
 * phase, as browsers arrive at random), the Bearer key added server-side, the answer
 * re-streamed. Upstream calls go through one undici `Agent` (keep-alive, at most
 * `BENCH_BASELINE_CONNECTIONS` sockets), so what is compared with the gateway is the
 * per-subscriber polling, not socket churn.
 *
 * Environment: `BENCH_UPSTREAM` (`/v1` base), `BENCH_SIM_KEY`, `BENCH_BASELINE_INTERVAL_MS`,
 * `BENCH_BASELINE_CONNECTIONS`. IPC `stats` → `{subscribers, calls, failures, forwarded}`,
 * `gc` (forced collection, `--expose-gc`);
 * `ready` event: `{ url }`.
 */
import http from 'node:http'
import { Agent, request } from 'undici'
import { collectGarbage, emitEvent, serveIpc } from './lib/ipc.js'

const upstream = process.env.BENCH_UPSTREAM ?? 'http://127.0.0.1:3001/v1'
const key = process.env.BENCH_SIM_KEY ?? 'bench-key'
const intervalMs = Number(process.env.BENCH_BASELINE_INTERVAL_MS ?? 10_000)
const dispatcher = new Agent({ connections: Number(process.env.BENCH_BASELINE_CONNECTIONS ?? 64) })

let subscribers = 0
let calls = 0
let failures = 0
let forwarded = 0

const SUBSCRIBE_RE = /^\/orders\/([0-9A-F]{16})\/subscribe$/

async function check (trackcode: string): Promise<string> {
  calls++
  const res = await request(`${upstream}/orders/check`, {
    method: 'POST',
    dispatcher,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ trackcode, outputs: 'full' })
  })
  const text = await res.body.text()
  if (res.statusCode !== 200) throw new Error(`upstream answered ${res.statusCode}`)
  return text
}

const server = http.createServer((req, res) => {
  const match = SUBSCRIBE_RE.exec(req.url ?? '')
  if (req.method !== 'GET' || match === null) {
    res.writeHead(404).end()
    return
  }
  const trackcode = match[1] as string
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no'
  })
  res.write('retry: 3000\n\n')
  subscribers++
  let timer: NodeJS.Timeout | null = null
  let closed = false
  const poll = (): void => {
    check(trackcode).then((text) => {
      if (closed) return
      forwarded++
      res.write(`data: ${text}\n\n`)
    }, () => { failures++ })
  }
  poll()
  const phase = setTimeout(() => {
    poll()
    timer = setInterval(poll, intervalMs)
  }, Math.random() * intervalMs)
  res.on('close', () => {
    closed = true
    subscribers--
    clearTimeout(phase)
    if (timer !== null) clearInterval(timer)
  })
})

serveIpc({
  stats: () => ({ subscribers, calls, failures, forwarded }),
  gc: collectGarbage
})

server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  emitEvent('ready', { url: `http://127.0.0.1:${port}` })
})
