/**
 * A {@link RedisLink} for store tests: its own key prefix (so tests never see each
 * other's keys), fast probes and reconnection, closed when the test ends.
 */
import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import { RedisLink } from '../../src/state/redis/link.js'
import { captureLog, type CapturedLog } from './log-capture.js'
import type { RedisServer } from './redis-server.js'

export interface TestLink {
  link: RedisLink
  log: CapturedLog
  prefix: string
}

/** A started link to `redis`; pass `prefix` to share keys with another link. */
export async function startLink (t: Test, redis: RedisServer, prefix = `t${randomUUID().slice(0, 8)}:`): Promise<TestLink> {
  const log = captureLog()
  const link = new RedisLink({ url: redis.url, keyPrefix: prefix, log: log.logger, probeIntervalMs: 50, reconnectMaxMs: 100, commandTimeoutMs: 1000, connectTimeoutMs: 1000 })
  t.teardown(async () => { await link.close() })
  await link.start()
  return { link, log, prefix }
}
