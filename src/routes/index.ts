/**
 * Every HTTP route of the gateway. The folder tree mirrors the URL tree:
 *
 * | URL                                  | file                                  |
 * |--------------------------------------|---------------------------------------|
 * | `/v1/...` (the ten upstream routes)  | `v1/` (one file per upstream path)    |
 * | `GET /orders/:trackcode`             | `orders/_trackcode/index.ts`          |
 * | `GET /orders/:trackcode/subscribe`   | `orders/_trackcode/subscribe.ts`      |
 * | `POST /orders/:trackcode/token`      | `orders/_trackcode/token.ts`          |
 * | `PUT`/`DELETE /tracked-orders/:trackcode` | `tracked-orders/_trackcode/index.ts` |
 * | `GET /healthz`                       | `healthz.ts`                          |
 * | `GET /readyz`                        | `readyz.ts`                           |
 * | `GET /metrics`                       | `metrics.ts`                          |
 * | `GET /openapi.json`, `/docs/*`       | `docs.ts`                             |
 * | `GET /`, `/web/*`, `/client/*`       | `web.ts` (static files)               |
 * | `GET /demo/config`                   | `demo/config.ts`                      |
 * | `POST /demo/orders/:trackcode/pay`   | `demo/orders/_trackcode/pay.ts`       |
 * | `POST`, `GET /webhooks`              | `webhooks/index.ts`                   |
 * | `GET`, `PATCH`, `DELETE /webhooks/:id` | `webhooks/_id/index.ts`             |
 * | `POST /webhooks/:id/rotate-secret`   | `webhooks/_id/rotate-secret.ts`       |
 * | `GET /webhooks/:id/deliveries`       | `webhooks/_id/deliveries/index.ts`    |
 * | `POST /webhooks/:id/deliveries/:deliveryId/replay` | `webhooks/_id/deliveries/_deliveryId/replay.ts` |
 * | `GET /admin/allocator`               | `admin/allocator.ts`                  |
 */
import type { FastifyInstance } from 'fastify'
import allocatorRoute from './admin/allocator.js'
import docsRoutes from './docs.js'
import demoConfigRoute from './demo/config.js'
import demoPayRoute from './demo/orders/_trackcode/pay.js'
import healthzRoute from './healthz.js'
import metricsRoute from './metrics.js'
import readyzRoute from './readyz.js'
import trackedOrderRoute from './orders/_trackcode/index.js'
import subscribeRoute from './orders/_trackcode/subscribe.js'
import orderTokenRoute from './orders/_trackcode/token.js'
import trackedOrdersRoutes from './tracked-orders/_trackcode/index.js'
import v1Routes from './v1/index.js'
import webRoutes from './web.js'
import webhooksRoute from './webhooks/index.js'
import webhookRoute from './webhooks/_id/index.js'
import rotateSecretRoute from './webhooks/_id/rotate-secret.js'
import deliveriesRoute from './webhooks/_id/deliveries/index.js'
import replayRoute from './webhooks/_id/deliveries/_deliveryId/replay.js'

export default async function routes (app: FastifyInstance): Promise<void> {
  await app.register(v1Routes, { prefix: '/v1' })
  await app.register(subscribeRoute)
  await app.register(trackedOrderRoute)
  await app.register(orderTokenRoute)
  await app.register(trackedOrdersRoutes)
  await app.register(healthzRoute)
  await app.register(readyzRoute)
  await app.register(metricsRoute)
  await app.register(docsRoutes)
  await app.register(webRoutes)
  await app.register(demoConfigRoute)
  await app.register(demoPayRoute)
  await app.register(webhooksRoute)
  await app.register(webhookRoute)
  await app.register(rotateSecretRoute)
  await app.register(deliveriesRoute)
  await app.register(replayRoute)
  await app.register(allocatorRoute)
}
