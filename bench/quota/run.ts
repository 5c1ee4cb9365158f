/**
 * The quota-efficiency benchmark as a function: for each K, the same simulated day
 * (same seed, same orders) once with trackgate's tracking stack and once with the
 * fixed 60 s baseline; figures and the ratio between them.
 */
import { performance } from 'node:perf_hooks'
import { DAY_MS } from '../../src/state/quota/index.js'
import { ratio } from '../lib/stats.js'
import { baselineTracker, BASELINE_INTERVAL_MS } from './baseline-tracker.js'
import { detectionFigures, maxInWindow, type DetectionFigures } from './detection.js'
import { trackgateTracker } from './trackgate-tracker.js'
import { planWorkload, type WorkloadShape } from './workload.js'
import { runDay, T0, type WorldOutcome, type WorldSettings } from './world.js'

const HOUR = 3_600_000
/** A quota no day of these sizes reaches. */
const UNLIMITED = 10_000_000
const MINUTE = 60_000

/** Sizes and durations of a run. */
export interface QuotaBenchOptions {
  ks: number[]
  seed: number
  smoke: boolean
}

/** The full-size day and the smoke-size one. */
export function shapeFor (k: number, seed: number, smoke: boolean): { shape: WorkloadShape, settings: WorldSettings } {
  if (smoke) {
    return {
      shape: { k, seed, creationWindowMs: 10 * MINUTE, neverPaidShare: 0.1, partialShare: 0.3, abandonAfterMs: 30 * MINUTE, maxDelayMin: 30 },
      settings: { quotaLimit: 1000, quotaReserve: 50, confirmMs: 20 * MINUTE, outputConfirmMs: 10 * MINUTE, horizonMs: 4 * HOUR }
    }
  }
  return {
    shape: { k, seed, creationWindowMs: 6 * HOUR, neverPaidShare: 0.1, partialShare: 0.2, abandonAfterMs: 2 * HOUR, maxDelayMin: 2880 },
    // Orders are created within 6 h and upstream forgets them 48 h later: all is over by 54 h.
    settings: { quotaLimit: 1000, quotaReserve: 50, confirmMs: 20 * MINUTE, outputConfirmMs: 10 * MINUTE, horizonMs: 54 * HOUR + 5 * MINUTE }
  }
}

/** Figures of one tracker over one day. */
export interface SideFigures {
  orders: number
  /** Checks sent upstream (as the simulator counted them). */
  checks: number
  checksPerOrder: number
  /** Most checks in any rolling 24 h window (the local quota lets checks use limit − reserve). */
  maxChecksIn24h: number
  /** Check attempts refused by the local quota (no call made). */
  refusals: number
  /** Answers 429 from the simulated upstream. */
  upstreamRefusals: number
  /** Ms after the start of the day of the first refusal, `null` if none. */
  firstRefusalAfterMs: number | null
  /** Ms after the first order's creation of the first refusal, `null` if none. */
  ranOutAfterFirstOrderMs: number | null
  detection: DetectionFigures
  /** Orders whose lifecycle ended Done / Gone within the run. */
  done: number
  gone: number
  /** Orders that could not be created or followed. */
  failures: string[]
  /** Largest stretch factor trackgate's scheduler applied (baseline: none). */
  maxStretch?: number
  /** [hours after start, checks in the trailing 24 h] every 15 simulated minutes. */
  windowSeries: Array<[number, number]>
  /** Real time the simulation took, ms. */
  realMs: number
}

/** One K. */
export interface KFigures {
  k: number
  trackgate: SideFigures
  baseline: SideFigures
  /**
   * The baseline's demand: the same fixed 60 s polling with no quota (what it would
   * need to keep its detection delay under a minute all day).
   */
  baselineUnlimited: SideFigures
  /** trackgate's checks per order ÷ the (quota-bound) baseline's. */
  checksRatio: number
  /** trackgate's checks per order ÷ the unlimited baseline's. */
  checksRatioToDemand: number
  /** trackgate's detection p95 ÷ the baseline's (NaN when either is infinite). */
  p95Ratio: number
  targets: Array<{ target: string, value: string, met: boolean }>
}

/** The whole result. */
export interface QuotaBenchResult {
  seed: number
  smoke: boolean
  workload: Omit<WorkloadShape, 'k'>
  settings: WorldSettings & { refreshMs: number, baselineIntervalMs: number, startIso: string }
  runs: KFigures[]
}

function side (outcome: WorldOutcome, firstCreate: number, realMs: number, maxStretch?: number): SideFigures {
  const detection = detectionFigures(outcome.timelines.values())
  const firstRefusalAfterMs = outcome.firstRefusalAt === null ? null : outcome.firstRefusalAt - T0
  return {
    orders: outcome.orders,
    checks: outcome.simChecks,
    checksPerOrder: outcome.orders === 0 ? Number.NaN : outcome.simChecks / outcome.orders,
    maxChecksIn24h: maxInWindow(outcome.checkTimes, DAY_MS),
    refusals: outcome.refusals,
    upstreamRefusals: outcome.upstreamRefusals,
    firstRefusalAfterMs,
    ranOutAfterFirstOrderMs: firstRefusalAfterMs === null ? null : firstRefusalAfterMs - firstCreate,
    detection,
    done: outcome.done,
    gone: outcome.gone,
    failures: outcome.failures,
    ...(maxStretch === undefined ? {} : { maxStretch }),
    windowSeries: outcome.windowSeries.map(([t, n]) => [Math.round(t / HOUR * 100) / 100, n]),
    realMs: Math.round(realMs)
  }
}

/** Formats ms as `1 h 05 min` / `42 s`. */
export function duration (ms: number | null): string {
  if (ms === null) return 'never'
  if (!Number.isFinite(ms)) return '∞'
  if (ms < MINUTE) return `${Math.round(ms / 1000)} s`
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} min ${String(Math.round((ms % MINUTE) / 1000)).padStart(2, '0')} s`
  return `${Math.floor(ms / HOUR)} h ${String(Math.round((ms % HOUR) / MINUTE)).padStart(2, '0')} min`
}

/** Runs every K; `onProgress` is told when each side of each K is done. */
export async function runQuotaBenchmark (opts: QuotaBenchOptions, onProgress: (line: string) => void = () => {}): Promise<QuotaBenchResult> {
  const runs: KFigures[] = []
  let base: ReturnType<typeof shapeFor> | undefined
  for (const k of opts.ks) {
    const { shape, settings } = shapeFor(k, opts.seed, opts.smoke)
    base = { shape, settings }
    const plan = planWorkload(shape)
    const firstCreate = plan[0]?.createAt ?? 0

    let stretch = (): number => 1
    let started = performance.now()
    const tg = await runDay(plan, settings, (ctx) => {
      const tracker = trackgateTracker(ctx, opts.seed)
      stretch = tracker.maxStretch
      return tracker
    })
    const trackgate = side(tg, firstCreate, performance.now() - started, stretch())
    onProgress(`K=${k} trackgate: ${trackgate.checks} checks in ${(trackgate.realMs / 1000).toFixed(1)} s real time`)

    started = performance.now()
    const bl = await runDay(plan, settings, (ctx) => baselineTracker(ctx))
    const baseline = side(bl, firstCreate, performance.now() - started)
    onProgress(`K=${k} baseline: ${baseline.checks} checks in ${(baseline.realMs / 1000).toFixed(1)} s real time`)

    started = performance.now()
    const unlimited = { ...settings, quotaLimit: UNLIMITED }
    const ul = await runDay(plan, unlimited, (ctx) => baselineTracker(ctx))
    const baselineUnlimited = side(ul, firstCreate, performance.now() - started)
    onProgress(`K=${k} baseline without quota: ${baselineUnlimited.checks} checks in ${(baselineUnlimited.realMs / 1000).toFixed(1)} s real time`)

    const checksRatio = ratio(trackgate.checksPerOrder, baseline.checksPerOrder)
    const checksRatioToDemand = ratio(trackgate.checksPerOrder, baselineUnlimited.checksPerOrder)
    const budget = settings.quotaLimit - settings.quotaReserve
    const targets = [
      { target: 'checks per order ≤ 1/4 of the baseline\'s (baseline under the same quota)', value: Number.isFinite(checksRatio) ? `×${checksRatio.toFixed(3)}` : '–', met: Number.isFinite(checksRatio) && checksRatio <= 0.25 },
      { target: 'checks per order ≤ 1/4 of the baseline\'s (baseline without quota)', value: Number.isFinite(checksRatioToDemand) ? `×${checksRatioToDemand.toFixed(3)}` : '–', met: Number.isFinite(checksRatioToDemand) && checksRatioToDemand <= 0.25 },
      { target: 'detection p95 ≤ 2 min', value: duration(trackgate.detection.p95Ms), met: trackgate.detection.p95Ms <= 2 * MINUTE },
      {
        target: `never over quota (≤ ${budget} checks in any 24 h, no refusal)`,
        value: `max ${trackgate.maxChecksIn24h} in 24 h, ${trackgate.refusals + trackgate.upstreamRefusals} refused`,
        met: trackgate.maxChecksIn24h <= budget && trackgate.refusals === 0 && trackgate.upstreamRefusals === 0
      }
    ]
    runs.push({ k, trackgate, baseline, baselineUnlimited, checksRatio, checksRatioToDemand, p95Ratio: ratio(trackgate.detection.p95Ms, baseline.detection.p95Ms), targets })
  }
  const shape = base?.shape ?? shapeFor(1, opts.seed, opts.smoke).shape
  const settings = base?.settings ?? shapeFor(1, opts.seed, opts.smoke).settings
  const { k: _k, ...workload } = shape
  return {
    seed: opts.seed,
    smoke: opts.smoke,
    workload,
    settings: { ...settings, refreshMs: 60_000, baselineIntervalMs: BASELINE_INTERVAL_MS, startIso: new Date(T0).toISOString() },
    runs
  }
}
