/**
 * Turns the first schema violation of a request into a 400 BAD_REQUEST that names the
 * field and says the rule in words.
 *
 * Without a message attached to the failing schema (see
 * `src/upstream/schemas/rule-messages.ts`) the wording is the error-envelope plugin's
 * (`addresses[0] must be object`, `amount is required`, `foo is not an accepted field`).
 */
import type { FastifySchema, FastifySchemaValidationError } from 'fastify'
import { badRequest, type GatewayError } from '../errors.js'
import { describeValidation, fieldName } from '../plugins/error-envelope.js'
import { ruleMessage } from '../upstream/schemas/rule-messages.js'

/** The part of a request a schema validates (Fastify's `RequestPart`). */
export type RequestPart = 'body' | 'headers' | 'params' | 'querystring'

/** Keywords about the object holding the field rather than the field itself. */
const CONTAINER_KEYWORDS = new Set(['required', 'additionalProperties'])

/** Schema-path steps that move from a value to a value inside it. */
const DESCENDING = new Set(['properties', 'patternProperties', 'items', 'additionalProperties', 'prefixItems'])

/**
 * The message attached to the schema that validates the failing value itself: walks
 * `schemaPath` (`#/properties/addresses/items/properties/percent/anyOf/0/pattern`) and
 * keeps the last message met since the walk last went down into a nested value.
 */
export function messageAt (root: unknown, schemaPath: string): string | undefined {
  const steps = schemaPath.replace(/^#\/?/, '').split('/').filter((s) => s !== '').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
  let node: unknown = root
  let message = ruleMessage(node)
  let entering = false
  for (const step of steps) {
    if (typeof node !== 'object' || node === null) break
    node = (node as Record<string, unknown>)[step]
    if (entering) {
      // `properties/<name>`: `node` is now the field's schema.
      entering = false
      message = ruleMessage(node)
      continue
    }
    if (DESCENDING.has(step)) {
      message = undefined
      entering = step === 'properties' || step === 'patternProperties'
      if (!entering) message = ruleMessage(node)
      continue
    }
    message = ruleMessage(node) ?? message
  }
  return message
}

/** The readable error for the first violation in `errors`. */
export function describeSchemaErrors (schema: unknown, errors: FastifySchemaValidationError[], context: RequestPart): GatewayError {
  const first = errors[0]
  if (first === undefined) return badRequest(`${context} is invalid`)
  const issue = first as unknown as { instancePath: string, schemaPath: string, keyword: string, message?: string, params: Record<string, unknown> }
  const message = CONTAINER_KEYWORDS.has(issue.keyword) ? undefined : messageAt(schema, issue.schemaPath)
  if (message !== undefined) return badRequest(`${fieldName(context, issue.instancePath)} ${message}`)
  return badRequest(describeValidation(context, issue))
}

/** A route's `schemaErrorFormatter`, reading messages from the route's own schemas. */
export function schemaErrorFormatter (schema: FastifySchema | undefined): (errors: FastifySchemaValidationError[], context: RequestPart) => Error {
  return (errors, context) => {
    const part: unknown = schema?.[context]
    return describeSchemaErrors(part, errors, context)
  }
}
