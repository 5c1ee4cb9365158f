/**
 * The OpenAPI document as committed in `openapi/openapi.json` and `openapi/openapi.yaml`:
 * generated from a built app, with `paths` and component schemas in name order so the
 * files are stable however routes are registered. Used by `scripts/openapi.ts` (which
 * writes the files), by `GET /openapi.json`, and by the test that fails when the
 * committed files are stale.
 */
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { stringify } from 'yaml'
import { buildApp } from '../app.js'
import { defaultConfig } from '../config.js'

/** An OpenAPI document as plain JSON. */
export type OpenApiDocument = Record<string, unknown>

/** Where the committed copies live, relative to the repository root. */
export const SPEC_FILES = {
  json: join('openapi', 'openapi.json'),
  yaml: join('openapi', 'openapi.yaml')
} as const

function sortedByKey<V> (record: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The document of a ready app (`await app.ready()` first), normalized. */
export function specOf (app: FastifyInstance): OpenApiDocument {
  const doc: OpenApiDocument = { ...(app.swagger() as unknown as OpenApiDocument) }
  if (isRecord(doc.paths)) doc.paths = sortedByKey(doc.paths)
  if (isRecord(doc.components)) {
    const components = { ...doc.components }
    if (isRecord(components.schemas)) components.schemas = sortedByKey(components.schemas)
    doc.components = components
  }
  return doc
}

/** The JSON file's text. */
export function specJson (doc: OpenApiDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`
}

/** The YAML file's text (no line folding, no anchors: diff-friendly). */
export function specYaml (doc: OpenApiDocument): string {
  return stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })
}

/**
 * Builds the app offline (a placeholder upstream that is never called, no simulator,
 * no logs) and returns its document. Nothing of the configuration's values enters the
 * document, so any machine produces the same one.
 */
export async function buildSpec (): Promise<OpenApiDocument> {
  const config = { ...defaultConfig(), apiKey: 'openapi-generation-only', upstreamUrl: 'http://127.0.0.1:9/v1', logLevel: 'silent' }
  const app = await buildApp(config, { logger: false })
  try {
    await app.ready()
    return specOf(app)
  } finally {
    await app.close()
  }
}
