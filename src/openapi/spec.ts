/**
 * The OpenAPI document as committed in `openapi/openapi.json` and `openapi/openapi.yaml`:
 * generated from a built app, with `paths` and component schemas in name order so the
 * files are stable however routes are registered. Used by `GET /openapi.json` and by
 * `build.ts` (the offline build that `scripts/openapi.ts` writes and a test checks).
 */
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { stringify } from 'yaml'

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
