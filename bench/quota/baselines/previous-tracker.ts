/**
 * The previous scheduler's side of a run (a baseline): one poller per followed order,
 * each check spaced by `PollScheduler.afterSuccess` (its state-aware interval stretched
 * by the factor shared by every poller), a refused check retried when the window frees
 * (`afterRefusal`), as the pollers of commit 86c352a did. The scheduler reads the poll
 * partition of the run's quota as the quota it shares.
 */
import type { QuotaBudget } from '../../../src/state/quota/index.js'
import type { TimerHandle } from '../../../src/tracking/clock.js'
import type { TrackedOrder } from '../../../src/tracking/schemas.js'
import { isFinalStatus, snapshotFromCheck } from '../../../src/tracking/status.js'
import type { Stamped } from '../detection.js'
import { GONE, signatureOfCheck } from '../signature.js'
import type { Tracker, WorldContext } from '../world.js'
import { PollScheduler } from './previous-scheduler.js'

interface Followed {
  events: Stamped[]
  last: TrackedOrder | undefined
  sig: string | null
  timer: TimerHandle | null
  stopped: boolean
}

/** The previous scheduler's pollers; `timings` as the configuration's. */
export function previousTracker (ctx: WorldContext, timings: { pollIntervalMs: number, pollWaitingPaymentMs: number, pollMaxIntervalMs: number }): Tracker {
  const { clock } = ctx
  // The poll partition, seen as a whole quota with nothing reserved.
  const partition: QuotaBudget = {
    tryAcquire: async () => await ctx.quota.tryAcquire('poll'),
    pause: async (until) => { await ctx.quota.pause(until) },
    async state () {
      const s = await ctx.quota.state()
      return { ...s, limit: s.partitions.poll.limit, reserve: 0, used: s.partitions.poll.used }
    }
  }
  const scheduler = new PollScheduler({ timings, quota: partition, now: () => clock.now() })
  const orders = new Map<string, Followed>()

  async function poll (trackcode: string, f: Followed): Promise<void> {
    f.timer = null
    if (f.stopped) return
    const sentAt = clock.now()
    const attempt = await ctx.check(trackcode)
    if (f.stopped) return
    let delay: number | null = timings.pollIntervalMs
    if (attempt.refused) {
      delay = scheduler.afterRefusal(attempt.retryAt)
    } else {
      scheduler.usage.record(sentAt)
      if (attempt.statusCode === 200) {
        const order = snapshotFromCheck(attempt.body, f.last, { sentAt, latencyMs: 0 }, clock.now())
        f.last = order
        const sig = signatureOfCheck(attempt.body)
        if (sig !== f.sig) {
          f.sig = sig
          f.events.push({ at: clock.now(), sig })
        }
        delay = isFinalStatus(order.status) ? null : await scheduler.afterSuccess(order, sentAt, f)
      } else if (attempt.statusCode === 404 && f.sig !== null) {
        f.events.push({ at: clock.now(), sig: GONE })
        delay = null
      } else {
        delay = scheduler.afterFailure(1)
      }
    }
    if (delay === null) {
      f.stopped = true
      scheduler.dropDemand(f)
      return
    }
    if (!f.stopped) f.timer = clock.setTimeout(() => { void clock.track(poll(trackcode, f)) }, delay)
  }

  return {
    async follow (trackcode) {
      const f: Followed = { events: [], last: undefined, sig: null, timer: null, stopped: false }
      orders.set(trackcode, f)
      await poll(trackcode, f)
    },
    leave (trackcode) {
      const f = orders.get(trackcode)
      if (f === undefined) return
      f.stopped = true
      scheduler.dropDemand(f)
      if (f.timer !== null) clock.clearTimeout(f.timer)
    },
    events (trackcode) {
      return orders.get(trackcode)?.events ?? []
    },
    close () {
      for (const code of orders.keys()) this.leave(code)
    }
  }
}
