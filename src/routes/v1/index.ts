/**
 * The ten SecretCryptos endpoints at their upstream method and path, under `/v1`: an
 * existing client switches its base URL to the gateway and drops its key.
 *
 * Every route refuses bad input with a 400 naming the field before spending quota, and
 * forwards upstream's answer (status and bytes) unchanged.
 */
import type { FastifyInstance } from 'fastify'
import exchangeOrderRoutes from './exchange/orders.js'
import metaRoutes from './meta.js'
import mixerOrderRoutes from './mixer/orders.js'
import checkRoute from './orders/check.js'
import deleteRoute from './orders/delete.js'
import pricesRoutes from './prices.js'
import { schemaErrorFormatter } from '../../lib/schema-errors.js'
import pingRoute from './ping.js'
import validateRoutes from './validate.js'

/** Registers the ten endpoints (under the `/v1` prefix given by the app). */
export default async function v1Routes (app: FastifyInstance): Promise<void> {
  // Schema violations become messages that say the rule (see schema-errors.ts).
  app.addHook('onRoute', (route) => {
    route.schemaErrorFormatter ??= schemaErrorFormatter(route.schema)
  })

  await app.register(pingRoute)
  await app.register(metaRoutes)
  await app.register(pricesRoutes)
  await app.register(mixerOrderRoutes)
  await app.register(exchangeOrderRoutes)
  await app.register(checkRoute)
  await app.register(deleteRoute)
  await app.register(validateRoutes)
}
