/**
 * Browser-facing security: security headers (`@fastify/helmet`) and CORS
 * (`@fastify/cors`) limited to the `CORS_ORIGINS` allow-list.
 *
 * CSP: the gateway serves only its own scripts and styles, so the default policy is
 * strict — everything from `'self'`, images also as `data:` (the deposit QR code), no
 * inline scripts, no framing, no plugins. It fits the JSON API, `/docs` (swagger-ui
 * loads its bundle, initializer and CSS as files, and renders the spec fetched from the
 * same origin) and the demo page (which sets its own, equally strict policy). Only
 * the routes under `/docs` also allow inline *styles*: swagger-ui injects a `<style>`
 * element (a browser test checks both pages render without a violation).
 * `upgrade-insecure-requests` is left out so the gateway also works over plain HTTP on
 * a developer machine (behind TLS, HSTS does that job). `Referrer-Policy: no-referrer`
 * keeps trackcodes in page URLs from leaking to other sites.
 *
 * CORS: with no `CORS_ORIGINS` the plugin is not registered at all: no CORS headers,
 * so browsers only let same-origin pages call the API, and preflights get 404. With a
 * list, an allowed `Origin` is echoed back (with `Vary: Origin`); others get nothing.
 * `*` allows any origin (the API uses no cookies, so credentials are never allowed).
 */
import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'
import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'

export interface SecurityPluginOptions {
  /** Allowed browser origins; empty: same origin only; `['*']`: any. */
  corsOrigins: readonly string[]
}

/** The Content-Security-Policy of every response that does not set its own. */
export const CSP_DIRECTIVES: Readonly<Record<string, string[]>> = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"]
}

/** The policy of `/docs/*`: the same, plus the inline `<style>` Swagger UI injects. */
export const DOCS_CSP_DIRECTIVES: Readonly<Record<string, string[]>> = {
  ...CSP_DIRECTIVES,
  'style-src': ["'self'", "'unsafe-inline'"]
}

/** Request headers a cross-origin page may send. */
export const CORS_ALLOWED_HEADERS = ['Content-Type', 'Idempotency-Key', 'Last-Event-ID', 'If-None-Match', 'Trackgate-Order-Token']
/** Response headers a cross-origin page may read. */
export const CORS_EXPOSED_HEADERS = [
  'Retry-After', 'X-Poll-After', 'Idempotent-Replayed', 'ETag', 'Age',
  'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset',
  'Trackgate-Order-Token', 'Trackgate-Simulated', 'WWW-Authenticate'
]

async function security (app: FastifyInstance, opts: SecurityPluginOptions): Promise<void> {
  // Before @fastify/helmet's own onRoute hook, which turns `route.helmet` into route config.
  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path
    if (route.helmet === undefined && (url === '/docs' || url.startsWith('/docs/'))) {
      route.helmet = { contentSecurityPolicy: { useDefaults: false, directives: { ...DOCS_CSP_DIRECTIVES } } }
    }
  })
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: { ...CSP_DIRECTIVES } },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' }
  })

  if (opts.corsOrigins.length === 0) return
  const any = opts.corsOrigins.includes('*')
  const allowed = new Set(opts.corsOrigins)
  await app.register(cors, {
    origin: (origin, callback) => {
      if (origin === undefined) callback(null, false)
      else callback(null, any ? '*' : allowed.has(origin))
    },
    methods: ['GET', 'HEAD', 'POST'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: 600,
    // A request that is not a real preflight gets the normal answer, not a text/plain 400.
    strictPreflight: false
  })
}

export default fp(security, { name: 'security' })
