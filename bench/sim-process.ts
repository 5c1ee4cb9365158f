/**
 * Benchmark child: the simulator (`src/simulator/`) as a stand-in for SecretCryptos, in
 * its own process so that its work is never counted as the gateway's.
 *
 * Environment: `BENCH_SIM_KEY` (accepted API key), `BENCH_SIM_QUOTA` (calls per day;
 * benchmarks use a huge one), `BENCH_SIM_CONFIRM_MS` (payment → confirmation; long, so
 * that only the benchmark's own payments change an order).
 * Real time (the gateway's pollers run in real time too). IPC commands: `stats`,
 * `resetStats`, `pay {trackcode, amount?}`; `ready` event: `{ url }` (the `/v1` base).
 */
import { buildSimulator } from '../src/simulator/index.js'
import { emitEvent, serveIpc } from './lib/ipc.js'

const key = process.env.BENCH_SIM_KEY ?? 'bench-key'
const { app, control } = await buildSimulator({
  apiKeys: [key],
  dailyQuota: Number(process.env.BENCH_SIM_QUOTA ?? 100_000_000),
  timing: { confirmMs: Number(process.env.BENCH_SIM_CONFIRM_MS ?? 86_400_000) }
})

serveIpc({
  stats: () => control.stats(),
  resetStats: () => { control.resetStats() },
  pay: (args) => {
    const { trackcode, amount } = args as { trackcode: string, amount?: string }
    const order = control.pay(trackcode, amount)
    return { received: order.received, confirmStatus: order.confirmStatus }
  }
})

// A large backlog: the baseline proxy opens many upstream connections at once.
const url = await app.listen({ host: '127.0.0.1', port: 0, backlog: 4096 })
emitEvent('ready', { url: `${url}/v1` })
