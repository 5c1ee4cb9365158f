/**
 * A fixed-interval baseline: each followed order checked every `intervalMs` from the
 * moment it is followed until a check shows it Done or Gone (or its follower leaves).
 * Checks take slots from the same poll partition as trackgate's: a refused check is
 * simply skipped until the next interval. An event is emitted each time a check shows
 * a state different from the previous one. At 60 s without a quota it is the reference
 * of demand; the best interval found with hindsight is a baseline.
 */
import type { Stamped } from '../detection.js'
import { GONE, signatureOfCheck } from '../signature.js'
import type { TimerHandle } from '../../../src/tracking/clock.js'
import type { Tracker, WorldContext } from '../world.js'

/** Spacing of the reference poller's checks. */
export const BASELINE_INTERVAL_MS = 60_000

interface Followed {
  events: Stamped[]
  last: string | null
  timer: TimerHandle | null
  stopped: boolean
}

/** The fixed-interval poller. */
export function fixedIntervalTracker (ctx: WorldContext, intervalMs = BASELINE_INTERVAL_MS): Tracker {
  const { clock } = ctx
  const orders = new Map<string, Followed>()

  async function poll (trackcode: string, f: Followed): Promise<void> {
    f.timer = null
    if (f.stopped) return
    const attempt = await ctx.check(trackcode)
    if (f.stopped) return
    if (!attempt.refused && attempt.statusCode === 200) {
      const sig = signatureOfCheck(attempt.body)
      if (sig !== f.last) {
        f.last = sig
        f.events.push({ at: clock.now(), sig })
      }
      const outputs = attempt.body.outputs as Array<{ state: number, confirm: number }>
      if (outputs.length > 0 && outputs.every((o) => o.state === 2 && o.confirm === 1)) f.stopped = true
    } else if (!attempt.refused && attempt.statusCode === 404 && f.last !== null) {
      f.events.push({ at: clock.now(), sig: GONE })
      f.stopped = true
    }
    if (!f.stopped) f.timer = clock.setTimeout(() => { void clock.track(poll(trackcode, f)) }, intervalMs)
  }

  return {
    async follow (trackcode) {
      const f: Followed = { events: [], last: null, timer: null, stopped: false }
      orders.set(trackcode, f)
      await poll(trackcode, f)
    },
    leave (trackcode) {
      const f = orders.get(trackcode)
      if (f === undefined) return
      f.stopped = true
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
