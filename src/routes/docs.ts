/**
 * The API's documentation: `GET /openapi.json` (the OpenAPI 3.1 document, the same one
 * committed in `openapi/openapi.json`) and `GET /docs` (Swagger UI, its assets served
 * locally under `/docs/static/`, no CDN).
 */
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { specOf, type OpenApiDocument } from '../openapi/spec.js'

export default async function docsRoutes (app: FastifyInstance): Promise<void> {
  // The routes are all known once the app is ready; build the document once, on first use.
  let spec: OpenApiDocument | undefined
  const document = (): OpenApiDocument => (spec ??= specOf(app))

  // `hide`: not listed in the document it serves.
  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) => {
    return reply.header('cache-control', 'no-cache').type('application/json; charset=utf-8').send(JSON.stringify(document()))
  })

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // `/docs/json` serves the same (normalized) document as `/openapi.json`.
    transformSpecification: () => document(),
    transformSpecificationClone: false,
    uiConfig: {
      docExpansion: 'list',
      deepLinking: true,
      defaultModelsExpandDepth: 0,
      tryItOutEnabled: false
    },
    theme: { title: 'trackgate API' }
  })
}
