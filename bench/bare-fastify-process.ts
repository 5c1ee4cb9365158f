/**
 * Benchmark child: the baseline of the memory-served routes — a bare Fastify app (the
 * gateway's Fastify version) with one hello-world route and the logger at Fastify's
 * default level (`info`, as the gateway runs in production: one line per request and per
 * response, to standard output), nothing else. `ready` event: `{ url }`.
 */
import Fastify from 'fastify'
import { emitEvent, serveIpc } from './lib/ipc.js'

const app = Fastify({ logger: true })
app.get('/', async () => ({ hello: 'world' }))

serveIpc({})
process.on('SIGTERM', () => {
  app.close().then(() => process.exit(0), () => process.exit(1))
})
const url = await app.listen({ host: '127.0.0.1', port: 0, backlog: 4096 })
emitEvent('ready', { url })
