/**
 * Webhook delivery benchmark (issue 12): latency from a detected change to its
 * delivery at the receiver, with `--orders` known orders (default 1 000) all changing
 * at once and one endpoint on a loopback `node:http` receiver — the real path: each
 * change stored by the SQLite snapshot store together with its outbox event (one
 * fsynced transaction), the worker kicked, fanned out, claimed, signed and POSTed.
 * Against the same-run baseline: a bare `node:http` POST loop to the same receiver,
 * same body size, same concurrency (the worker's batch, 50), all requests due at the
 * start. Prints p50/p99 of both and the ratio.
 *
 *   node --import @tapjs/typescript/import bench/webhooks.ts [--orders 1000]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, request as httpRequest, Agent } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import type { FastifyBaseLogger } from 'fastify'
import type { StoredSnapshot } from '../src/state/snapshots/index.js'
import { SqliteSnapshotStore } from '../src/state/snapshots/sqlite.js'
import { openStateDatabase } from '../src/state/sqlite/database.js'
import { SqliteWebhookStore } from '../src/state/webhooks/sqlite.js'
import type { TrackedOrder } from '../src/tracking/schemas.js'
import { webhookEvents } from '../src/webhooks/events.js'
import { newSecret } from '../src/webhooks/signature.js'
import { AllowList } from '../src/webhooks/ssrf.js'
import { WebhookWorker } from '../src/webhooks/worker.js'
import { formatNumber, formatRatio, table } from './lib/report.js'
import { summarize, type Summary } from './lib/stats.js'

/** The worker's default batch: deliveries attempted at once. */
const CONCURRENCY = 50

export interface WebhookBenchResult {
  orders: number
  bodyBytes: number
  concurrency: number
  /** Change stored → request at the receiver, ms. */
  webhook: Summary
  /** Start of the loop → request at the receiver, ms. */
  baseline: Summary
}

const silent = { info () {}, warn () {}, error () {}, debug () {}, trace () {}, fatal () {}, child () { return silent }, level: 'silent' } as unknown as FastifyBaseLogger

/** A snapshot of order `i` in `status`, about the size of a real one (outputs, addresses). */
function snapshotOf (i: number, status: string, version: number): StoredSnapshot {
  const order = {
    trackcode: `BENCH${String(i).padStart(11, '0')}`,
    version,
    status,
    kind: 'mixer',
    deposit: { address: 'bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh', amount: '0.01500000', symbol: 'BTC', confirmations: status === 'WaitingForPayment' ? 0 : 1 },
    outputs: [0, 1, 2].map((k) => ({ address: `bc1q${'a'.repeat(34)}${k}`, percent: '33.3', delay: '0', status: 'Pending', txid: null })),
    created_at: '2025-01-01T00:00:00Z',
    expires_at: '2025-01-02T00:00:00Z'
  } as unknown as TrackedOrder
  return { order, json: JSON.stringify(order), checkedAt: Date.now() }
}

/** Runs both sides once; `orders` changes and as many baseline requests. */
export async function runWebhookBenchmark (opts: { orders: number }): Promise<WebhookBenchResult> {
  const arrived = new Map<string, number>()
  let expected = 0
  let allIn: () => void = () => {}
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const id = String(req.headers['webhook-id'] ?? req.headers['x-bench-id'])
      arrived.set(id, performance.now())
      res.end()
      if (arrived.size === expected) allIn()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  const dir = mkdtempSync(join(tmpdir(), 'trackgate-bench-webhooks-'))
  const db = openStateDatabase(dir)
  try {
    const webhooks = new SqliteWebhookStore({ db })
    const snapshots = new SqliteSnapshotStore({ db, outbox: webhooks })
    const now = Date.now()
    await webhooks.createEndpoint({ id: 'we_bench', url, events: ['order.payment_seen'], enabled: true, disabledReason: null, failures: 0, failingSince: null, createdAt: now, updatedAt: now, secret: newSecret(), previousSecret: null, previousSecretUntil: null })
    const before = Array.from({ length: opts.orders }, (_, i) => snapshotOf(i, 'WaitingForPayment', 1))
    for (const s of before) await snapshots.put(s.order.trackcode, s, 3_600_000, 0)
    const worker = new WebhookWorker({ store: webhooks, log: silent, allow: new AllowList(['127.0.0.1']), timeoutMs: 10_000, retryBaseMs: 1000, retryForMs: 3_600_000, disableAfterMs: 3_600_000, batch: CONCURRENCY })
    worker.start()

    // The webhooks: every order changes; latency from its stored change to its arrival.
    const changedAt = new Map<string, number>()
    let bodyBytes = 0
    expected = opts.orders
    const webhooksIn = new Promise<void>((resolve) => { allIn = resolve })
    for (const [i, prev] of before.entries()) {
      const next = snapshotOf(i, 'Confirming', 2)
      const events = webhookEvents(prev.order, next.order, next.json, Date.now())
      bodyBytes = Buffer.byteLength(events[0]?.body ?? '')
      const t0 = performance.now()
      await snapshots.put(next.order.trackcode, next, 3_600_000, 1, events)
      for (const e of events) changedAt.set(e.id, t0)
      worker.kick()
    }
    await webhooksIn
    await worker.stop()
    const webhook = summarize([...changedAt].map(([id, t0]) => (arrived.get(id) as number) - t0))

    // The baseline: the same number of POSTs of the same size, CONCURRENCY at a time.
    arrived.clear()
    const baselineIn = new Promise<void>((resolve) => { allIn = resolve })
    const body = 'x'.repeat(bodyBytes)
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
    const start = performance.now()
    let nextId = 0
    const post = async (id: number): Promise<void> => {
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-bench-id': String(id), 'content-length': bodyBytes } }, (res) => {
          res.resume()
          res.on('end', resolve)
        })
        req.on('error', reject)
        req.end(body)
      })
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (nextId < opts.orders) await post(nextId++)
    }))
    await baselineIn
    agent.destroy()
    const baseline = summarize([...arrived.values()].map((t) => t - start))
    return { orders: opts.orders, bodyBytes, concurrency: CONCURRENCY, webhook, baseline }
  } finally {
    db.close()
    rmSync(dir, { recursive: true, force: true })
    server.closeAllConnections()
    server.close()
  }
}

/** The result as a table, with the ratio to the baseline. */
export function webhookTable (r: WebhookBenchResult): string {
  const row = (name: string, s: Summary): string[] => [name, formatNumber(s.p50), formatNumber(s.p99), formatNumber(s.max)]
  return table(['side', 'p50 ms', 'p99 ms', 'max ms'], [row('webhooks (change → receiver)', r.webhook), row('bare node:http POST loop', r.baseline)]) +
    `\nratio p50 ${formatRatio(r.webhook.p50 / r.baseline.p50)}, p99 ${formatRatio(r.webhook.p99 / r.baseline.p99)} — ${r.orders} orders, ${r.bodyBytes} B bodies, concurrency ${r.concurrency}\n`
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const { values } = parseArgs({ options: { orders: { type: 'string', default: '1000' } } })
  const orders = Number(values.orders)
  if (!Number.isInteger(orders) || orders < 1) throw new Error('--orders: a positive integer')
  const result = await runWebhookBenchmark({ orders })
  process.stdout.write(webhookTable(result))
}
