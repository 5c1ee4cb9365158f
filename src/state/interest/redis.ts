/**
 * The interest set shared by a cluster: the sorted set `interest` (member: trackcode,
 * score: expiry, epoch ms on the instances' clocks). `touch` raises scores (`ZADD GT`),
 * `list` drops the expired members and reads the rest; the key itself expires a while
 * after the latest expiry (`PEXPIRE NX`, then `GT`: never brought forward). During a Redis outage it answers from the in-process set.
 */
import type { InterestSet } from './index.js'
import { MemoryInterestSet } from './memory.js'
import type { RedisLink } from '../redis/link.js'
import { redisKeys } from '../redis/keys.js'

/** See the module comment. */
export class RedisInterestSet implements InterestSet {
  readonly #link: RedisLink
  readonly #now: () => number
  readonly #fallback: MemoryInterestSet

  constructor (opts: { link: RedisLink, now?: () => number }) {
    this.#link = opts.link
    this.#now = opts.now ?? Date.now
    this.#fallback = new MemoryInterestSet(this.#now)
  }

  async touch (trackcodes: readonly string[], ttlMs: number): Promise<void> {
    await this.#fallback.touch(trackcodes, ttlMs)
    if (trackcodes.length === 0) return
    const until = this.#now() + ttlMs
    await this.#link.run('interest', async (redis) => {
      const args: Array<string | number> = []
      for (const code of trackcodes) args.push(until, code)
      await redis.multi().zadd(redisKeys.interest, 'GT', ...args).pexpire(redisKeys.interest, Math.ceil(2 * ttlMs), 'NX').pexpire(redisKeys.interest, Math.ceil(2 * ttlMs), 'GT').exec()
    }, () => {})
  }

  async list (): Promise<string[]> {
    return await this.#link.run('interest', async (redis) => {
      const now = this.#now()
      const [, members] = (await redis.multi().zremrangebyscore(redisKeys.interest, '-inf', now).zrange(redisKeys.interest, 0, -1).exec()) ?? []
      return (members?.[1] ?? []) as string[]
    }, async () => await this.#fallback.list())
  }
}
