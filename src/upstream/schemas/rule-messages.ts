/**
 * Readable validation messages attached to schemas.
 *
 * Fastify's AJV runs in strict mode (unknown keywords are refused) and has no
 * `errorMessage` keyword, and its own messages say things like
 * `must match pattern "^(?:100(?:\.0{1,2})?|…)$"`. So a schema that needs a clearer
 * message carries it under a symbol key: invisible to AJV, to JSON and to the OpenAPI
 * document, but kept by `Type.Optional` (which copies the schema). The routes' schema
 * error formatter (`src/routes/v1/schema-errors.ts`) reads it while walking the failing
 * schema path.
 */
import type { TSchema } from 'typebox'

const RULE_MESSAGE = Symbol('trackgate.ruleMessage')

interface WithMessage {
  [RULE_MESSAGE]?: string
}

/**
 * Attaches `message`: what a value failing `schema` is told after the field name, e.g.
 * `rule(Percent, 'must be a percentage from 1.00 to 100.00')` →
 * `addresses[0].percent must be a percentage from 1.00 to 100.00`. Returns `schema`.
 */
export function rule<T extends TSchema> (schema: T, message: string): T {
  (schema as WithMessage)[RULE_MESSAGE] = message
  return schema
}

/** The message attached to `schema`, if any. */
export function ruleMessage (schema: unknown): string | undefined {
  return typeof schema === 'object' && schema !== null ? (schema as WithMessage)[RULE_MESSAGE] : undefined
}
