/**
 * Browser-facing security: security headers and CORS (`@fastify/cors`) limited to the
 * `CORS_ORIGINS` allow-list.
 *
 * Security headers, computed once at start and set as one block by an `onRequest` hook
 * of each route, chosen when the route is added (helmet rebuilt and validated them on
 * every request: ≈ 5 % of the CPU of a request served from memory). Two blocks, by route:
 * - **pages** — the demo page `/`, its assets under `/web/`, the client module under
 *   `/client/`, and `/docs` — get the twelve headers `@fastify/helmet` would set with the
 *   options in {@link HELMET_EQUIVALENT_OPTIONS} (`securityHeaders`; a test,
 *   `test/plugins/security/helmet-equivalence.test.ts`, checks they are exactly helmet's);
 * - **every other answer** — the JSON API, its errors, `/metrics`, unmatched URLs — gets
 *   {@link API_HEADERS}, what OWASP's REST Security cheat sheet asks of an API response:
 *   `nosniff`, `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`,
 *   `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`,
 *   `Cross-Origin-Resource-Policy: same-origin` and HSTS. The six helmet headers left out
 *   (`Cross-Origin-Opener-Policy`, `Origin-Agent-Cluster`, `X-DNS-Prefetch-Control`,
 *   `X-Download-Options`, `X-Permitted-Cross-Domain-Policies`, `X-XSS-Protection`)
 *   only mean something for a document a browser renders, which a JSON answer never is;
 *   and its CSP allows nothing at all. Half the headers, on every request served from
 *   memory: a measurable share of its CPU (BENCHMARKS.md, section 4).
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
import cors from '@fastify/cors'
import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import { hooksOf } from './route-options.js'

export interface SecurityPluginOptions {
  /** Allowed browser origins; empty: same origin only; `['*']`: any. */
  corsOrigins: readonly string[]
}

/** The Content-Security-Policy of the pages that do not set their own. */
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

/**
 * The `@fastify/helmet` options whose output {@link securityHeaders} reproduces (kept for
 * the equivalence test; `contentSecurityPolicy.directives` is the route's policy).
 */
export const HELMET_EQUIVALENT_OPTIONS = {
  strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false },
  xFrameOptions: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' }
} as const

/** A policy as the header spells it: `default-src 'self';base-uri 'self';…`. */
function cspHeader (directives: Readonly<Record<string, readonly string[]>>): string {
  return Object.entries(directives).map(([name, values]) => `${name} ${values.join(' ')}`).join(';')
}

/** Every security header of an answer under the policy `directives`, as helmet sets them. */
export function securityHeaders (directives: Readonly<Record<string, readonly string[]>>): Readonly<Record<string, string>> {
  return Object.freeze({
    'content-security-policy': cspHeader(directives),
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'origin-agent-cluster': '?1',
    'referrer-policy': 'no-referrer',
    'strict-transport-security': `max-age=${HELMET_EQUIVALENT_OPTIONS.strictTransportSecurity.maxAge}`,
    'x-content-type-options': 'nosniff',
    'x-dns-prefetch-control': 'off',
    'x-download-options': 'noopen',
    'x-frame-options': 'DENY',
    'x-permitted-cross-domain-policies': 'none',
    'x-xss-protection': '0'
  })
}

/** Request headers a cross-origin page may send. */
export const CORS_ALLOWED_HEADERS = ['Content-Type', 'Idempotency-Key', 'Last-Event-ID', 'If-None-Match', 'Trackgate-Order-Token']
/** Response headers a cross-origin page may read. */
export const CORS_EXPOSED_HEADERS = [
  'Retry-After', 'X-Poll-After', 'Idempotent-Replayed', 'ETag', 'Age',
  'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset',
  'Trackgate-Order-Token', 'Trackgate-Simulated', 'WWW-Authenticate'
]

/** The security headers of every answer that is not a page (see the module comment). */
export const API_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': `max-age=${HELMET_EQUIVALENT_OPTIONS.strictTransportSecurity.maxAge}`,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY'
})
const PAGE_HEADERS = securityHeaders(CSP_DIRECTIVES)
const DOCS_HEADERS = securityHeaders(DOCS_CSP_DIRECTIVES)

/** The security headers of the route `url` (its pattern). */
function securityHeadersOf (url: string): Readonly<Record<string, string>> {
  if (url === '/docs' || url.startsWith('/docs/')) return DOCS_HEADERS
  if (url === '/' || url.startsWith('/web/') || url.startsWith('/client/')) return PAGE_HEADERS
  return API_HEADERS
}

/** An `onRequest` hook setting `headers` (their entries, listed once). */
function settingHeaders (headers: Readonly<Record<string, string>>): onRequestHookHandler {
  const entries = Object.entries(headers)
  return function setSecurityHeaders (_request, reply, done) {
    for (const [name, value] of entries) reply.header(name, value)
    done()
  }
}

async function security (app: FastifyInstance, opts: SecurityPluginOptions): Promise<void> {
  // Each route gets the headers of its kind (API, page, docs) from a hook of its own,
  // chosen once when the route is added: nothing to look up per request. First of the
  // route's hooks, so the rate limiter's 429 carries them too; a handler may still
  // replace one (the demo page sets its own policy).
  app.addHook('onRoute', (route) => {
    route.onRequest = [settingHeaders(securityHeadersOf(route.url ?? route.path)), ...hooksOf(route.onRequest)]
  })
  // URLs that match no route have no route hook: API headers.
  const apiHeaders = settingHeaders(API_HEADERS)
  app.addHook('onRequest', function setUnmatchedSecurityHeaders (request, reply, done) {
    if (request.is404) apiHeaders.call(this, request, reply, done)
    else done()
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
