/**
 * The per-request logger (`request.log`), made only when a request logs something.
 *
 * Fastify gives every request a pino child bound to its request id. Making one computes
 * its bindings' JSON and runs them through the redaction of the thirty paths of
 * `src/lib/log-privacy.ts` — about 7 % of the CPU of a request served from memory, spent
 * for nothing on the requests that log no line of their own (almost all: the access line
 * is written by `src/lib/request-log.ts` with the request id as a field). This logger
 * stands in for the child and makes the real one on its first use: lines logged through
 * it are exactly the child's.
 */
import type { FastifyBaseLogger } from 'fastify'

type Bindings = Parameters<FastifyBaseLogger['child']>[0]
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1]
type Method = (...args: unknown[]) => void

/** See the module comment. */
class LazyChildLogger {
  readonly #parent: FastifyBaseLogger
  readonly #bindings: Bindings
  readonly #options: ChildOptions
  #child: FastifyBaseLogger | undefined

  constructor (parent: FastifyBaseLogger, bindings: Bindings, options: ChildOptions) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  #real (): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options)
    return this.#child
  }

  get level (): string {
    return this.#real().level
  }

  set level (level: string) {
    this.#real().level = level
  }

  fatal (...args: unknown[]): void { this.#log('fatal', args) }
  error (...args: unknown[]): void { this.#log('error', args) }
  warn (...args: unknown[]): void { this.#log('warn', args) }
  info (...args: unknown[]): void { this.#log('info', args) }
  debug (...args: unknown[]): void { this.#log('debug', args) }
  trace (...args: unknown[]): void { this.#log('trace', args) }
  silent (...args: unknown[]): void { this.#log('silent', args) }

  child (bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options)
  }

  #log (level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent', args: unknown[]): void {
    const child = this.#real()
    ;(child[level] as Method).apply(child, args)
  }
}

/** A `childLoggerFactory` (Fastify option) giving each request a {@link LazyChildLogger}. */
export function lazyChildLoggerFactory (logger: FastifyBaseLogger, bindings: Bindings, options: ChildOptions): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger
}
