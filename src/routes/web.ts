/**
 * The browser side: the live demo page at `GET /`, its assets under `/web/…`, and the
 * dependency-free tracking client at a stable URL, `/client/trackgate-client.js` (plus
 * its `.d.ts`). The demo's API (`/demo/...`) is in `demo/`.
 *
 * Files are read once at startup and served from memory with a strong `ETag` and
 * `Cache-Control: no-cache`: browsers revalidate on every load (a `304` costs no body),
 * so an upgraded gateway never leaves a page running a stale client.

 */
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** One file served from memory. */
interface StaticAsset {
  /** Path relative to the `web/` directory. */
  file: string
  contentType: string
  /** Extra headers (CSP for the page, CORS for the client module). */
  headers: Readonly<Record<string, string>>
}

/** The page may only load what the gateway serves; the deposit QR is a `data:` image. */
const PAGE_CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join('; ')

/** The client module can be imported by pages of any origin. */
const PUBLIC_MODULE = { 'access-control-allow-origin': '*' }

/** URL → file. */
const ASSETS: Readonly<Record<string, StaticAsset>> = {
  '/': { file: 'index.html', contentType: 'text/html; charset=utf-8', headers: { 'content-security-policy': PAGE_CSP, 'referrer-policy': 'no-referrer' } },
  '/web/app.js': { file: 'app.js', contentType: 'text/javascript; charset=utf-8', headers: {} },
  '/web/style.css': { file: 'style.css', contentType: 'text/css; charset=utf-8', headers: {} },
  '/web/favicon.svg': { file: 'favicon.svg', contentType: 'image/svg+xml', headers: {} },
  '/client/trackgate-client.js': { file: 'client/trackgate-client.js', contentType: 'text/javascript; charset=utf-8', headers: PUBLIC_MODULE },
  '/client/trackgate-client.d.ts': { file: 'client/trackgate-client.d.ts', contentType: 'application/typescript; charset=utf-8', headers: PUBLIC_MODULE }
}

/**
 * The `web/` directory: next to `src/` when run from source, two levels further up
 * when run from `dist/src/`.
 */
function webRoot (): string {
  const candidates = [new URL('../../web/', import.meta.url), new URL('../../../web/', import.meta.url)]
  for (const dir of candidates) {
    if (existsSync(new URL('index.html', dir))) return fileURLToPath(dir)
  }
  throw new Error(`trackgate: web/index.html not found (looked in ${candidates.map((u) => fileURLToPath(u)).join(', ')})`)
}

/** True when an `If-None-Match` header lists `etag` (or `*`). */
function matchesEtag (ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim()
    return t === '*' || t === etag || t === `W/${etag}`
  })
}

/** The demo page, its assets and the client module. */
export default async function webRoutes (app: FastifyInstance): Promise<void> {
  const root = webRoot()

  for (const [url, asset] of Object.entries(ASSETS)) {
    const body = await readFile(`${root}${asset.file}`)
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
    const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      reply
        .header('cache-control', 'no-cache')
        .header('etag', etag)
        .header('x-content-type-options', 'nosniff')
        .headers(asset.headers)
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send()
      return reply.type(asset.contentType).send(body)
    }
    app.get(url, { schema: { hide: true } }, serve)
  }
}
