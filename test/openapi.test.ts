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

/** A media type's example, or its schema's (a referenced component's: `doc` resolves it). */
function hasExample (media: Json | undefined, doc?: OpenApiDocument): boolean {
  if (media === undefined) return false
  let schema = media.schema as Json | undefined
  const ref = typeof schema?.$ref === 'string' ? /^#\/components\/schemas\/(.+)$/.exec(schema.$ref) : null
  if (ref !== null && doc !== undefined) schema = ((doc.components as Json).schemas as Record<string, Json>)[ref[1] as string]
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
          t.ok(hasExample(media, doc), `${status} ${type} example`)
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

t.test('every operation documents 429; every operation taking a body documents 413 and 415', async (t) => {
  const doc = await buildSpec()
  for (const { id, op } of operations(doc)) {
    const responses = op.responses as Record<string, Json>
    t.ok(responses['429'] !== undefined, `${id}: 429`)
    t.ok((responses['429']?.headers as Json | undefined)?.['retry-after'] !== undefined, `${id}: 429 declares Retry-After`)
    if (op.requestBody !== undefined) {
      t.ok(responses['413'] !== undefined, `${id}: 413`)
      t.ok(responses['415'] !== undefined, `${id}: 415`)
    }
  }
})

/** Every `$ref` under `value`. */
function refsIn (value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out)
  else if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      if (key === '$ref' && typeof v === 'string') out.push(v)
      else refsIn(v, out)
    }
  }
  return out
}

t.test('the tracking payloads are named components, referenced by the tracking operations', async (t) => {
  const doc = await buildSpec()
  const schemas = (doc.components as Json).schemas as Record<string, Json>
  for (const name of ['TrackedOrder', 'TrackingEvent', 'StopEvent']) t.ok(schemas[name]?.properties !== undefined, `components.schemas.${name}`)
  const paths = doc.paths as Record<string, Record<string, Json>>
  const poll = paths['/orders/{trackcode}']?.get?.responses as Record<string, Json>
  const pollMedia = (poll['200']?.content as Record<string, Json>)['application/json']
  t.same(pollMedia?.schema, { $ref: '#/components/schemas/TrackedOrder' }, 'the polling fallback answers a TrackedOrder, referenced')
  const subscribe = paths['/orders/{trackcode}/subscribe']?.get?.responses as Record<string, Json>
  const stream = (subscribe['200']?.content as Record<string, Json>)['text/event-stream']?.schema as Json
  const events = stream.oneOf as Json[]
  t.same(events.map((e) => ((e.properties as Json).event as Json).enum), [['message'], ['tracking'], ['stop']], 'the event names')
  t.same(events.map((e) => (e.properties as Json).data), [
    { $ref: '#/components/schemas/TrackedOrder' },
    { $ref: '#/components/schemas/TrackingEvent' },
    { $ref: '#/components/schemas/StopEvent' }
  ], 'each event\'s data points at its component')
  const refs = new Set(refsIn(doc.paths))
  for (const name of Object.keys(schemas)) t.ok(refs.has(`#/components/schemas/${name}`), `${name} is referenced by an operation`)
  t.notMatch(JSON.stringify(doc.paths), /"next_check_at":\{/, 'no inlined copy of TrackingEvent in the operations')
})

t.test('every time is epoch seconds, and says so; TrackedOrder.type is an enum', async (t) => {
  const doc = await buildSpec()
  const schemas = (doc.components as Json).schemas as Record<string, Json>
  const times: string[] = []
  const visit = (schema: unknown, path: string): void => {
    if (typeof schema !== 'object' || schema === null) return
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'properties') {
        for (const [field, sub] of Object.entries(value as Json)) {
          if (/_at$/.test(field)) {
            times.push(`${path}.${field}`)
            t.match((sub as Json).description, /Unix epoch seconds/, `${path}.${field} states its unit`)
          }
          visit(sub, `${path}.${field}`)
        }
      } else visit(value, path)
    }
  }
  for (const [name, schema] of Object.entries(schemas)) visit(schema, name)
  t.ok(times.includes('TrackingEvent.next_check_at') && times.includes('TrackedOrder.updated_at'), `time fields found: ${times.join(', ')}`)
  t.same((schemas.TrackedOrder?.properties as Record<string, Json>).type?.enum, ['mixer', 'exchange', 'unknown'])
})
