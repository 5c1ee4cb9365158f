/**
 * The round-robin baseline: one check every `windowMs ÷ limit` of the poll partition
 * (its rate, spread evenly), always to the followed order checked least recently; each
 * order is checked once when it is first followed (its first snapshot), and dropped
 * once a check shows it Done or Gone. An event is emitted each time a check shows a
 * state different from the previous one.
 */
import type { Stamped } from '../detection.js'
import { GONE, signatureOfCheck } from '../signature.js'
import type { TimerHandle } from '../../../src/tracking/clock.js'
import type { Tracker, WorldContext } from '../world.js'

interface Followed {
  code: string
  events: Stamped[]
  last: string | null
  lastCheckAt: number
  stopped: boolean
}

/** The round-robin poller at `spacingMs` between two checks. */
export function roundRobinTracker (ctx: WorldContext, spacingMs: number): Tracker {
  const { clock } = ctx
  const orders = new Map<string, Followed>()
  let timer: TimerHandle | null = null

  async function check (f: Followed): Promise<void> {
    f.lastCheckAt = clock.now()
    const attempt = await ctx.check(f.code)
    if (f.stopped || attempt.refused) return
    if (attempt.statusCode === 200) {
      const sig = signatureOfCheck(attempt.body)
      if (sig !== f.last) {
        f.last = sig
        f.events.push({ at: clock.now(), sig })
      }
      const outputs = attempt.body.outputs as Array<{ state: number, confirm: number }>
      if (outputs.length > 0 && outputs.every((o) => o.state === 2 && o.confirm === 1)) f.stopped = true
    } else if (attempt.statusCode === 404 && f.last !== null) {
      f.events.push({ at: clock.now(), sig: GONE })
      f.stopped = true
    }
  }

  function turn (): void {
    timer = clock.setTimeout(turn, spacingMs)
    let next: Followed | undefined
    for (const f of orders.values()) if (!f.stopped && (next === undefined || f.lastCheckAt < next.lastCheckAt)) next = f
    if (next !== undefined) void clock.track(check(next))
  }

  return {
    async follow (trackcode) {
      const f: Followed = { code: trackcode, events: [], last: null, lastCheckAt: 0, stopped: false }
      orders.set(trackcode, f)
      await check(f)
      timer ??= clock.setTimeout(turn, spacingMs)
    },
    leave (trackcode) {
      const f = orders.get(trackcode)
      if (f !== undefined) f.stopped = true
    },
    events (trackcode) {
      return orders.get(trackcode)?.events ?? []
    },
    close () {
      if (timer !== null) clock.clearTimeout(timer)
      timer = null
      for (const f of orders.values()) f.stopped = true
    }
  }
}
