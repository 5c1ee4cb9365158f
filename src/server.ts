/**
 * Process entry: read the configuration, build the app, listen, shut down cleanly.
 *
 * On SIGTERM/SIGINT: `app.lifecycle.shutdown()` stops accepting, ends event streams
 * with a `retry:` hint, lets in-flight requests finish and closes the upstream pool;
 * the process exits 0 when that is done, or 1 when `SHUTDOWN_TIMEOUT_MS` runs out
 * first. A second signal exits at once.
 */
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'

async function main (): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`trackgate: ${err.message}\n`)
      process.exit(78) // EX_CONFIG
    }
    throw err
  }

  const app = await buildApp(config)
  let closing = false
  const shutdown = (signal: string): void => {
    if (closing) {
      app.log.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    closing = true
    app.log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down')
    setTimeout(() => {
      app.log.error('shutdown timed out: exiting')
      process.exit(1)
    }, config.shutdownTimeoutMs).unref()
    app.lifecycle.shutdown({ timeoutMs: config.shutdownTimeoutMs }).then(() => {
      app.log.info('shut down')
      process.exit(0)
    }, (err: unknown) => {
      app.log.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)

  await app.listen({ host: config.host, port: config.port })
}

main().catch((err: unknown) => {
  process.stderr.write(`trackgate: failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
