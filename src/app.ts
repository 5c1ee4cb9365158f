/**
 * buildApp(config) → a ready-to-listen Fastify instance. Tests build it the same way
 * the server does.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import errorEnvelope from './plugins/error-envelope.js'
import upstream, { type UpstreamPluginOptions } from './plugins/upstream.js'
import openapi from './plugins/openapi.js'
import v1Routes from './routes/v1/index.js'
import docsRoutes from './routes/docs.js'
import healthRoutes from './routes/health.js'
import tracking from './tracking/index.js'
import webRoutes from './routes/web.js'

export interface BuildOptions extends Omit<UpstreamPluginOptions, 'config'> {
  /** Pino options or `false`; default: pino at `config.logLevel` with secrets redacted. */
  logger?: FastifyServerOptions['logger']
}

/** Log paths that may carry secrets; pino replaces their values. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'headers.authorization',
  'authorization',
  'apiKey',
  'config.apiKey',
  'config.partnerKey',
  'partnerKey',
  'partner',
  'signature',
  'signature_text',
  '*.signature_text',
  '*.partner',
  '*.apiKey'
]

export async function buildApp (config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? { level: config.logLevel, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    bodyLimit: config.bodyLimit,
    forceCloseConnections: true,
    return503OnClosing: true,
    ajv: {
      // The pass-through forwards bodies as the client sent them: validation must
      // not coerce, add defaults or strip fields.
      customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false }
    }
  }).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(errorEnvelope)
  await app.register(upstream, { config, ...opts })
  // The spec collects routes as they are added: register it before any route.
  await app.register(openapi)
  await app.register(v1Routes, { prefix: '/v1' })
  await app.register(tracking)
  await app.register(healthRoutes)
  await app.register(docsRoutes)
  await app.register(webRoutes)
  return app
}
