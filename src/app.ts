/**
 * buildApp(config) → a ready-to-listen Fastify instance. Tests build it the same way
 * the server does.
 */
import { readFileSync } from 'node:fs'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import errorEnvelope, { clientErrorHandler, frameworkErrors } from './plugins/error-envelope.js'
import access from './plugins/access.js'
import configPlugin from './plugins/config.js'
import simulator from './plugins/simulator.js'
import state from './plugins/state.js'
import upstream from './plugins/upstream.js'
import lifecycle from './plugins/lifecycle.js'
import metrics from './plugins/metrics.js'
import connectionLimit from './plugins/connection-limit.js'
import security from './plugins/security.js'
import rateLimits from './plugins/rate-limit.js'
import idempotency from './plugins/idempotency.js'
import { loggerOptions } from './lib/log-privacy.js'
import { logDestination } from './lib/log-destination.js'
import { RequestLogController } from './lib/request-log.js'
import { lazyChildLoggerFactory } from './lib/lazy-child-logger.js'
import openapi from './plugins/openapi.js'
import routes from './routes/index.js'
import tracking, { type TrackingOptions } from './tracking/index.js'
import webhooks, { type WebhooksOptions } from './webhooks/index.js'
import type { StateStores } from './state/index.js'
import type { SimulatorOptions } from './simulator/index.js'

export interface BuildOptions {
  /** Pino options (e.g. a test's `stream`; default: standard output), laid over the privacy-preserving defaults of src/lib/log-privacy.ts; or `false`. */
  logger?: FastifyServerOptions['logger']
  /** Stores to use instead of those the configuration selects (in-process, or Redis with `REDIS_URL`). */
  state?: Partial<StateStores>
  /** Options of live tracking (its `clock` is also the time of the stores that keep time); default: real time. */
  tracking?: TrackingOptions
  /** Options of the embedded simulator (used only when no API key is configured), e.g. fast timings in tests. */
  simulator?: Omit<SimulatorOptions, 'apiKeys'>
  /** Options of the webhooks (tests: a resolver, fast rounds). */
  webhooks?: WebhooksOptions
}

/** Log paths that may carry secrets; pino replaces their values (see src/lib/log-privacy.ts). */
export { REDACTED_PATHS } from './lib/log-privacy.js'

/**
 * With a certificate configured: HTTP/2 over TLS, HTTP/1.1 still accepted (ALPN), so
 * the many event streams of a browser's tracking tabs share one connection instead of
 * stalling at the browser's six HTTP/1.1 connections per origin. Without: plain HTTP/1.1.
 */
function serverOptions (config: Config): object {
  if (config.tlsCertFile === undefined || config.tlsKeyFile === undefined) {
    return {
      // Receiving a request (headers and body) may take at most REQUEST_TIMEOUT_MS: a
      // slower client gets 408 (clientErrorHandler) and its socket is closed. Node measures
      // from the request's first byte until it is fully received, so event streams (a GET,
      // complete once its headers are in) are never cut by it. `headersTimeout` (Node's
      // default 60 s) is brought down to the same bound, and the connections are checked
      // often enough (Node's default: every 30 s) for the bound to mean something.
      requestTimeout: config.requestTimeoutMs,
      http: {
        headersTimeout: config.requestTimeoutMs,
        connectionsCheckingInterval: Math.max(100, Math.min(5000, Math.floor(config.requestTimeoutMs / 4)))
      }
    }
  }
  return {
    http2: true,
    https: { allowHTTP1: true, cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile) }
  }
}

export async function buildApp (config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const logController = new RequestLogController()
  // The HTTP/2 server's instance type differs only in its raw request and reply types,
  // which the routes reach through `reply.raw` as the HTTP/1 types: both are written
  // with the same calls (see src/tracking/sse-stream.ts).
  const app = Fastify({
    ...serverOptions(config),
    logController,
    // `request.log` is made on its first use: most requests log nothing of their own (src/lib/lazy-child-logger.ts).
    ...(opts.logger === false ? {} : { childLoggerFactory: lazyChildLoggerFactory }),
    // Redaction and privacy-preserving serializers apply to any logger options given (tests' streams too).
    // Standard output unless the options name a stream; a broken pipe turns logging off
    // instead of hanging the shutdown (src/lib/log-destination.ts).
    logger: opts.logger === false ? false : loggerOptions(config.logLevel, { stream: logDestination(), ...(typeof opts.logger === 'object' ? opts.logger : {}) }),
    trustProxy: typeof config.trustProxy === 'boolean' ? config.trustProxy : [...config.trustProxy],
    bodyLimit: config.bodyLimit,
    forceCloseConnections: true,
    return503OnClosing: true,
    // Errors before any route (bad URL encoding, refused HTTP framing) in the envelope too.
    frameworkErrors,
    clientErrorHandler,
    ajv: {
      // The pass-through forwards bodies as the client sent them: validation must
      // not coerce, add defaults or strip fields.
      customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false }
    }
  }).withTypeProvider<TypeBoxTypeProvider>()
  // One access line per request, without redaction: it holds only what may be logged (src/lib/request-log.ts).
  logController.use(app.log)

  await app.register(errorEnvelope)
  // Every body the gateway accepts is JSON: no text/plain parser (Fastify's default), so a
  // text/plain body gets 415 UNSUPPORTED_MEDIA_TYPE in the envelope.
  app.removeContentTypeParser('text/plain')
  await app.register(simulator, { config, ...(opts.simulator === undefined ? {} : { simulator: opts.simulator }) })
  await app.register(configPlugin, { config })
  const clock = opts.tracking?.clock
  await app.register(state, {
    ...(opts.state === undefined ? {} : { stores: opts.state }),
    ...(clock === undefined ? {} : { now: () => clock.now() })
  })
  await app.register(upstream)
  // Hardening, before any route: their hooks must cover every route.
  await app.register(lifecycle)
  await app.register(metrics)
  await app.register(connectionLimit, { maxPerIp: config.maxConnectionsPerIp, trustProxy: config.trustProxy })
  // Who is calling (`request.caller`), before the limits and routes that depend on it.
  await app.register(access)
  await app.register(security, { corsOrigins: config.corsOrigins })
  await app.register(rateLimits, {
    max: config.rateLimitMax,
    windowMs: config.rateLimitWindowMs,
    createMax: config.rateLimitCreateMax,
    createWindowMs: config.rateLimitCreateWindowMs
  })
  await app.register(idempotency, {
    ttlMs: config.idempotencyTtlMs,
    // A create may wait for the mixer meta, then for upstream: never hold a key for less.
    lockMs: Math.max(60_000, 3 * config.upstreamTimeoutMs)
  })
  // The spec collects routes as they are added: register it before any route.
  await app.register(openapi)
  // Before tracking: it wraps the snapshot store the refresher writes (src/webhooks/index.ts).
  await app.register(webhooks, opts.webhooks ?? {})
  await app.register(tracking, opts.tracking ?? {})
  await app.register(routes)
  return app
}
