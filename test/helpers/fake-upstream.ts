/**
 * A hand-made upstream for tests: a `node:http` server on a loopback port whose answers
 * the test scripts, recording every request it receives.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One request as the fake upstream saw it. */
export interface SeenRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

/** Answers a request; may end `res` at any time, or never. */
export type FakeHandler = (req: SeenRequest, res: ServerResponse) => void

export interface FakeUpstream {
  /** `http://127.0.0.1:<port>`. */
  url: string
  /** `<url>/v1`, what the gateway is configured with. */
  baseUrl: string
  requests: SeenRequest[]
  /** Replaces the handler. */
  handle: (handler: FakeHandler) => void
  close: () => Promise<void>
}

/** Sends `body` (a string, sent as is) with `status`. */
export function sendJson (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers })
  res.end(body)
}

export async function startFakeUpstream (handler: FakeHandler = (_req, res) => sendJson(res, 200, '{"ok":true}')): Promise<FakeUpstream> {
  let current = handler
  const requests: SeenRequest[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      requests.push(seen)
      current(seen, res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    baseUrl: `${url}/v1`,
    requests,
    handle: (h) => { current = h },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
