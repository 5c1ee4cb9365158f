/**
 * A gateway instance in its own process, for tests that kill one (`SIGKILL`: no
 * shutdown, no lease released). Reads its configuration as JSON from
 * `TRACKGATE_TEST_CONFIG`, listens on a free loopback port and prints `READY <url>`.
 */
import { buildApp } from '../../src/app.js'
import type { Config } from '../../src/config.js'

const config = JSON.parse(process.env.TRACKGATE_TEST_CONFIG ?? '{}') as Config
const app = await buildApp(config, { logger: false })
const url = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`READY ${url}\n`)
