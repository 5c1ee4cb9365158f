/**
 * Process entry: read the configuration, build the app, listen, shut down cleanly.
 *
 * On SIGTERM/SIGINT (through `close-with-grace`): `app.lifecycle.shutdown()` stops
 * accepting, ends event streams with a `retry:` hint, lets in-flight requests finish and
 * closes the upstream pool; the process exits 0 when that is done, or 1 when
 * `SHUTDOWN_TIMEOUT_MS` runs out first or the shutdown fails. A second signal exits at once.
 */
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'

/** The events close-with-grace would also handle, left to Node here. */
const OTHER_EVENTS: closeWithGrace.AllEvents[] = [
  'SIGHUP', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGSEGV', 'SIGUSR2',
  'uncaughtException', 'unhandledRejection', 'beforeExit'
]

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
  closeWithGrace({
    delay: config.shutdownTimeoutMs,
    // SIGTERM and SIGINT only: other signals, uncaught errors and `beforeExit` keep
    // Node's default behaviour.
    skip: OTHER_EVENTS,
    logger: { error: (err: unknown) => { app.log.error({ err }, 'shutdown failed') } },
    onSecondSignal: (signal) => { app.log.warn({ signal }, 'second signal: exiting now') },
    onTimeout: () => { app.log.error('shutdown timed out: exiting') }
  }, async ({ signal }) => {
    app.log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down')
    await app.lifecycle.shutdown({ timeoutMs: config.shutdownTimeoutMs })
    app.log.info('shut down')
  })

  await app.listen({ host: config.host, port: config.port })
}

main().catch((err: unknown) => {
  process.stderr.write(`trackgate: failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
