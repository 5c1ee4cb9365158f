/**
 * The OpenAPI document: the committed files are what the code generates (run
 * `npm run openapi` when this fails), it is valid OpenAPI 3, and every operation is
 * documented: summary, description, tags, request schema, success and error responses,
 * examples.
 */
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { validate, compileErrors } from '@readme/openapi-parser'
import { parse } from 'yaml'
import { buildSpec } from '../src/openapi/build.js'
import { SPEC_FILES, specJson, specYaml, type OpenApiDocument } from '../src/openapi/spec.js'

type Json = Record<string, unknown>

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

function operations (doc: OpenApiDocument): Array<{ id: string, op: Json }> {
  const out: Array<{ id: string, op: Json }> = []
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of METHODS) {
      const op = item[method]
      if (op !== undefined) out.push({ id: `${method.toUpperCase()} ${path}`, op: op as Json })
    }
  }
  return out
}

function hasExample (media: Json | undefined): boolean {
  if (media === undefined) return false
  const schema = media.schema as Json | undefined
  return media.example !== undefined || media.examples !== undefined || Array.isArray(schema?.examples)
}

t.test('the committed spec is up to date', async (t) => {
  const doc = await buildSpec()
  t.equal(await readFile(SPEC_FILES.json, 'utf8').catch(() => ''), specJson(doc), `${SPEC_FILES.json} is stale: run npm run openapi`)
  t.equal(await readFile(SPEC_FILES.yaml, 'utf8').catch(() => ''), specYaml(doc), `${SPEC_FILES.yaml} is stale: run npm run openapi`)
  t.same(parse(specYaml(doc)), doc, 'the YAML says the same as the JSON')
})

t.test('generation is deterministic and machine-independent', async (t) => {
  const a = specJson(await buildSpec())
  const b = specJson(await buildSpec())
  t.equal(a, b)
  t.notMatch(a, /127\.0\.0\.1|localhost|:\d{4,5}\//, 'no server address or port baked in')
})

t.test('the spec is valid OpenAPI 3', async (t) => {
  const doc = await buildSpec()
  t.match(doc.openapi, /^3\./)
  const result = await validate(structuredClone(doc) as Parameters<typeof validate>[0])
  t.ok(result.valid, result.valid ? 'valid' : compileErrors(result))
})

t.test('the ten upstream endpoints are there, at their upstream method and path', async (t) => {
  const doc = await buildSpec()
  const ids = new Set(operations(doc).map((o) => o.id))
  for (const id of [
    'GET /v1/ping', 'GET /v1/meta', 'GET /v1/meta/mixer', 'GET /v1/meta/exchange', 'GET /v1/prices',
    'POST /v1/mixer/orders', 'POST /v1/exchange/orders', 'POST /v1/orders/check', 'POST /v1/orders/delete', 'POST /v1/validate'
  ]) t.ok(ids.has(id), id)
})

/** Writes whose whole input is the path (the trackcode): they take no body. */
const BODILESS = new Set(['POST /orders/{trackcode}/token', 'PUT /tracked-orders/{trackcode}'])

t.test('every operation is documented', async (t) => {
  const doc = await buildSpec()
  const ops = operations(doc)
  t.ok(ops.length >= 10)
  for (const { id, op } of ops) {
    t.test(id, async (t) => {
      t.type(op.summary, 'string', 'summary')
      t.ok(String(op.summary).length > 0)
      t.type(op.description, 'string', 'description')
      t.ok(String(op.description).length > 20, 'a real description')
      t.ok(Array.isArray(op.tags) && op.tags.length > 0, 'tags')

      const body = op.requestBody as Json | undefined
      if ((id.startsWith('POST ') || id.startsWith('PUT ') || id.startsWith('PATCH ')) && !BODILESS.has(id)) {
        const media = (body?.content as Record<string, Json> | undefined)?.['application/json']
        t.ok(media?.schema, 'request body schema')
        t.ok(hasExample(media), 'request example')
      }
      for (const param of (op.parameters ?? []) as Json[]) t.ok(param.schema, `parameter ${String(param.name)} has a schema`)

      const responses = op.responses as Record<string, Json>
      const success = Object.entries(responses).filter(([status]) => /^2/.test(status))
      t.ok(success.length > 0, 'a success response')
      for (const [status, res] of success) {
        const content = res.content as Record<string, Json> | undefined
        t.ok(content !== undefined && Object.keys(content).length > 0, `${status} has content`)
        for (const [type, media] of Object.entries(content ?? {})) {
          t.ok(media.schema, `${status} ${type} schema`)
          t.ok(hasExample(media), `${status} ${type} example`)
        }
      }
      const errors = Object.entries(responses).filter(([status]) => /^[45]/.test(status))
      t.ok(errors.length > 0, 'error responses')
      for (const [status, res] of errors) {
        const media = (res.content as Record<string, Json> | undefined)?.['application/json']
        const props = (media?.schema as Json | undefined)?.properties as Json | undefined
        t.ok(props?.ok !== undefined && props.message !== undefined && (props.code !== undefined || props.error !== undefined), `${status} is the envelope`)
        t.ok(hasExample(media), `${status} example`)
        t.type(res.description, 'string')
      }
    })
  }
})
