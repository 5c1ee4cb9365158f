/**
 * Every HTTP route of the gateway. The folder tree mirrors the URL tree:
 *
 * | URL                                  | file                                  |
 * |--------------------------------------|---------------------------------------|
 * | `/v1/...` (the ten upstream routes)  | `v1/` (one file per upstream path)    |
 * | `GET /orders/:trackcode`             | `orders/_trackcode/index.ts`          |
 * | `GET /orders/:trackcode/subscribe`   | `orders/_trackcode/subscribe.ts`      |
 * | `/healthz`, `/readyz`, `/metrics`    | `health.ts`                           |
 * | `/openapi.json`, `/docs`             | `docs.ts`                             |
 * | `/`, `/client/*`, `/demo/*`          | `web.ts`                              |
 */
import type { FastifyInstance } from 'fastify'
import docsRoutes from './docs.js'
import healthRoutes from './health.js'
import trackedOrderRoute from './orders/_trackcode/index.js'
import subscribeRoute from './orders/_trackcode/subscribe.js'
import v1Routes from './v1/index.js'
import webRoutes from './web.js'

export default async function routes (app: FastifyInstance): Promise<void> {
  await app.register(v1Routes, { prefix: '/v1' })
  await app.register(subscribeRoute)
  await app.register(trackedOrderRoute)
  await app.register(healthRoutes)
  await app.register(docsRoutes)
  await app.register(webRoutes)
}
