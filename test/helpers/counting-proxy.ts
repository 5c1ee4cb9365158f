/**
 * A proxy in front of upstream that counts what reaches it: checks per trackcode and
 * authenticated calls (e.g. to count the upstream calls of a whole cluster).
 */
import http from 'node:http'
import type { Test } from 'tap'

/** Counts what reaches upstream. */
export interface CountingProxy {
  /** The proxy's `/v1` base URL (what the gateways are configured with). */
  baseUrl: string
  /** `POST /v1/orders/check` calls of `trackcode` since the last reset. */
  checks: (trackcode: string) => number
  /** When each of those checks reached the proxy, epoch ms. */
  checkTimes: (trackcode: string) => number[]
  /** Authenticated calls since the last reset. */
  authenticated: () => number
  reset: () => void
}

/** A proxy to `target` (an origin) that counts calls, closed when `t` ends. */
export async function startCountingProxy (t: Test, target: string): Promise<CountingProxy> {
  const to = new URL(target)
  let checks = new Map<string, number>()
  let times = new Map<string, number[]>()
  let authenticated = 0
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => { chunks.push(chunk) })
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      if (req.headers.authorization !== undefined) authenticated++
      if (req.method === 'POST' && req.url?.endsWith('/orders/check') === true) {
        try {
          const code = String((JSON.parse(body.toString('utf8')) as { trackcode?: unknown }).trackcode)
          checks.set(code, (checks.get(code) ?? 0) + 1)
          times.set(code, [...(times.get(code) ?? []), Date.now()])
        } catch {}
      }
      const forward = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      })
      forward.on('error', () => { res.destroy() })
      forward.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  const { port } = server.address() as { port: number }
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    checks: (code) => checks.get(code) ?? 0,
    checkTimes: (code) => [...(times.get(code) ?? [])],
    authenticated: () => authenticated,
    reset: () => {
      checks = new Map()
      times = new Map()
      authenticated = 0
    }
  }
}
