/**
 * Detection delay: for every upstream-visible change of an order, the time from the
 * moment a check could first have shown it until the tracker emitted an event
 * carrying it (or a later state, which supersedes it).
 *
 * - A change is *visible* at the first upstream refresh tick at which the simulator's
 *   state differs from the previous tick's — what any check sent from then on reports.
 * - Each change has a kind ({@link changeKind}): payment (the amount received grew),
 *   deposit confirmation, send, output confirmation, Gone.
 * - It is *detected* by the first event whose state is that one or a later one of the
 *   same order (states never repeat: amounts received only grow).
 * - A change not detected before the customer stopped following the order or the end
 *   of the run is *missed*; percentiles count missed changes as infinitely late.
 */
import { quantile } from '../lib/stats.js'
import { GONE } from './signature.js'

/** A state of an order, and when it became visible (or was emitted). */
export interface Stamped {
  at: number
  sig: string
}

/** The kinds of change reported apart. */
export const CHANGE_KINDS = ['payment', 'deposit-confirmation', 'send', 'output-confirmation', 'gone'] as const
export type ChangeKindName = typeof CHANGE_KINDS[number]

/** The kind of the change from signature `before` to `after` (see `signature.ts`). */
export function changeKind (before: string, after: string): ChangeKindName {
  if (after === GONE) return 'gone'
  const field = (sig: string, name: string): string => sig.split('|').find((f) => f.startsWith(`${name}=`))?.slice(name.length + 1) ?? ''
  if (field(before, 'rcv') !== field(after, 'rcv')) return 'payment'
  const outsBefore = field(before, 'out').split(',')
  const outsAfter = field(after, 'out').split(',')
  if (outsAfter.some((o, i) => o.startsWith('2.') && !(outsBefore[i] ?? '').startsWith('2.'))) return 'send'
  if (field(before, 'cs') !== field(after, 'cs') || field(before, 'funded') !== field(after, 'funded')) return 'deposit-confirmation'
  return 'output-confirmation'
}

/** Figures of detection over a run. */
export interface DetectionFigures {
  /** Upstream-visible changes while someone followed the order. */
  changes: number
  detected: number
  missed: number
  /** Changes detected only through a later state (the intermediate state was never emitted). */
  superseded: number
  /** Events whose state the simulator never showed at a refresh tick (should be 0). */
  unmatchedEvents: number
  /** Ms; missed changes count as `Infinity`. */
  p50Ms: number
  p95Ms: number
  maxMs: number
  meanDetectedMs: number
}

/** Per-order material: the visible states (first = the state when following started) and the events emitted. */
export interface OrderTimeline {
  truth: Stamped[]
  events: Stamped[]
  /** Changes visible after this are not expected to be detected. */
  followedUntil: number
  /** Changes visible before this are not measured (warm-up). */
  countFrom?: number
}

/** One measured change. */
export interface ChangeDelay {
  kind: ChangeKindName
  /** Ms; `Infinity` when missed. */
  delay: number
}

/** Delays (ms) of every change of one order; `Infinity` when missed. */
export function orderDelays (timeline: OrderTimeline): { delays: number[], kinds: ChangeKindName[], superseded: number, unmatched: number } {
  const index = new Map(timeline.truth.map((s, i) => [s.sig, i]))
  const delays: number[] = []
  const kinds: ChangeKindName[] = []
  let superseded = 0
  let unmatched = 0
  for (const e of timeline.events) if (!index.has(e.sig)) unmatched++
  for (let i = 1; i < timeline.truth.length; i++) {
    const change = timeline.truth[i] as Stamped
    if (change.at > timeline.followedUntil) break
    if (change.at < (timeline.countFrom ?? -Infinity)) continue
    kinds.push(changeKind((timeline.truth[i - 1] as Stamped).sig, change.sig))
    const hit = timeline.events.find((e) => (index.get(e.sig) ?? -1) >= i)
    if (hit === undefined) {
      delays.push(Infinity)
      continue
    }
    if (hit.sig !== change.sig) superseded++
    delays.push(Math.max(0, hit.at - change.at))
  }
  return { delays, kinds, superseded, unmatched }
}

/** Every measured change of `timelines`, with its kind. */
export function changeDelays (timelines: Iterable<OrderTimeline>): ChangeDelay[] {
  const out: ChangeDelay[] = []
  for (const t of timelines) {
    const d = orderDelays(t)
    d.delays.forEach((delay, i) => { out.push({ kind: d.kinds[i] as ChangeKindName, delay }) })
  }
  return out
}

/** p50 / p95 / count of a list of delays (missed = `Infinity`). */
export function delayFigures (delays: readonly number[]): { changes: number, missed: number, p50Ms: number, p95Ms: number } {
  const sorted = Float64Array.from(delays).sort()
  return { changes: delays.length, missed: delays.filter((d) => !Number.isFinite(d)).length, p50Ms: quantile(sorted, 0.5), p95Ms: quantile(sorted, 0.95) }
}

/** Summarizes every order's timeline. */
export function detectionFigures (timelines: Iterable<OrderTimeline>): DetectionFigures {
  const all: number[] = []
  let superseded = 0
  let unmatched = 0
  for (const t of timelines) {
    const d = orderDelays(t)
    all.push(...d.delays)
    superseded += d.superseded
    unmatched += d.unmatched
  }
  const sorted = Float64Array.from(all).sort()
  const detected = all.filter((d) => Number.isFinite(d))
  return {
    changes: all.length,
    detected: detected.length,
    missed: all.length - detected.length,
    superseded,
    unmatchedEvents: unmatched,
    p50Ms: quantile(sorted, 0.5),
    p95Ms: quantile(sorted, 0.95),
    maxMs: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1] as number,
    meanDetectedMs: detected.length === 0 ? Number.NaN : detected.reduce((s, d) => s + d, 0) / detected.length
  }
}

/** Most timestamps any rolling window of `windowMs` — `(t − windowMs, t]`, as the quota counts — ever held. */
export function maxInWindow (times: readonly number[], windowMs: number): number {
  const at = [...times].sort((a, b) => a - b)
  let max = 0
  let lo = 0
  for (let hi = 0; hi < at.length; hi++) {
    while ((at[lo] as number) <= (at[hi] as number) - windowMs) lo++
    max = Math.max(max, hi - lo + 1)
  }
  return max
}
