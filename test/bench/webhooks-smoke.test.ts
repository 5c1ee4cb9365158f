/**
 * Smoke run of the webhook delivery benchmark (`bench/webhooks.ts`) at a tiny size:
 * every change is delivered and every baseline request arrives, the figures are well
 * formed and the table prints. No performance figure is asserted.
 */
import t from 'tap'
import { runWebhookBenchmark, webhookTable } from '../../bench/webhooks.js'

t.test('a smoke-size run completes with well-formed figures', async (t) => {
  const r = await runWebhookBenchmark({ orders: 20 })
  t.equal(r.webhook.count, 20, 'every change delivered')
  t.equal(r.baseline.count, 20, 'every baseline request arrived')
  t.ok(r.bodyBytes > 200, 'a snapshot-sized body')
  for (const s of [r.webhook, r.baseline]) t.ok(s.min >= 0 && s.p50 <= s.p99 && s.p99 <= s.max, 'ordered percentiles')
  t.match(webhookTable(r), /ratio p50 .* p99/)
})
