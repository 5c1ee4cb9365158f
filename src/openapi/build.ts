/**
 * The committed OpenAPI document, built offline: `scripts/openapi.ts` writes it to
 * `openapi/`, and a test fails when the committed files are stale.
 */
import { buildApp } from '../app.js'
import { defaultConfig } from '../config.js'
import { specOf, type OpenApiDocument } from './spec.js'

/**
 * Builds the app offline (a placeholder upstream that is never called, no simulator,
 * no logs) and returns its document. Nothing of the configuration's values enters the
 * document, so any machine produces the same one.
 */
export async function buildSpec (): Promise<OpenApiDocument> {
  const config = { ...defaultConfig(), apiKey: 'openapi-generation-only', upstreamUrl: 'http://127.0.0.1:9/v1', logLevel: 'silent', stateBackend: 'memory' as const }
  const app = await buildApp(config, { logger: false })
  try {
    await app.ready()
    return specOf(app)
  } finally {
    await app.close()
  }
}
