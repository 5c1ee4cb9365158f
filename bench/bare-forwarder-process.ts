/**
 * Benchmark child: the floor of the pass-through benchmark — the least a Node proxy of
 * `POST /v1/orders/check` can do, written the obvious way with the gateway's own stack
 * (the same Fastify and undici versions): the body taken as bytes, sent on with the API
 * key through one keep-alive undici `Pool`, upstream's status and bytes sent back. No
 * validation, no quota, no allowance, no rate limit, no security headers, no metrics, no
 * logs: whatever the gateway adds over the simulator beyond this one's figure is the
 * gateway's own work; up to it, it is the machine's (one more process and two more
 * loopback hops on the same cores).
 *
 * Environment: `BENCH_UPSTREAM` (the simulator's `/v1` base), `BENCH_SIM_KEY`.
 * `ready` event: `{ url }` (its `/v1` base).
 */
import Fastify from 'fastify'
import { Pool } from 'undici'
import { emitEvent, serveIpc } from './lib/ipc.js'

const upstream = new URL(process.env.BENCH_UPSTREAM ?? 'http://127.0.0.1:3001/v1')
const headers = { 'content-type': 'application/json', authorization: `Bearer ${process.env.BENCH_SIM_KEY ?? 'bench-key'}` }
const path = `${upstream.pathname}/orders/check`
const pool = new Pool(upstream.origin, { connections: 16 })

const app = Fastify({ logger: false })
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })
app.post('/v1/orders/check', async (request, reply) => {
  const answer = await pool.request({ path, method: 'POST', headers, body: request.body as Buffer })
  const body = Buffer.from(await answer.body.arrayBuffer())
  return await reply.code(answer.statusCode).header('content-type', 'application/json').send(body)
})

serveIpc({})
process.on('SIGTERM', () => {
  app.close().then(async () => { await pool.close() }).then(() => process.exit(0), () => process.exit(1))
})
const url = await app.listen({ host: '127.0.0.1', port: 0, backlog: 4096 })
emitEvent('ready', { url: `${url}/v1` })
