/**
 * A logger that drops everything, for code run outside a Fastify app (simulations,
 * benchmarks, unit tests of the tracking parts).
 */
import type { FastifyBaseLogger } from 'fastify'

const noop = (): void => {}

export const silentLogger: FastifyBaseLogger = {
  level: 'silent',
  fatal: noop,
  error: noop,
  warn: noop,
  info: noop,
  debug: noop,
  trace: noop,
  silent: noop,
  child: () => silentLogger
}
