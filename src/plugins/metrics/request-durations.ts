/**
 * `trackgate_http_request_duration_seconds`: a Prometheus histogram of the answered
 * requests' durations, by method, route pattern and status, exported through the app's
 * prom-client registry like its other metrics (same text, same JSON).
 *
 * What differs from prom-client's `Histogram` is the cost of an observation, paid on
 * every answer: prom-client checks the label object against the label names and hashes
 * it into a string key on each `observe`, even through `labels(...)`. Here a series is
 * looked up once per route, method and status ({@link RequestDurations.series}) and kept
 * by the route's hook; an observation is a bucket search and three additions.
 */
import type { Metric, Registry } from 'prom-client'

/** The labels of a series. */
export interface DurationLabels {
  method: string
  route: string
  status_code: string
}

/** One series: the counts of its buckets, its sum and its count. */
export class DurationSeries {
  readonly labels: Readonly<DurationLabels>
  /** Observations per bucket (not cumulative); the last one is above every bound. */
  readonly counts: Float64Array
  sum = 0
  count = 0
  readonly #bounds: readonly number[]

  constructor (labels: DurationLabels, bounds: readonly number[]) {
    this.labels = labels
    this.#bounds = bounds
    this.counts = new Float64Array(bounds.length + 1)
  }

  reset (): void {
    this.counts.fill(0)
    this.sum = 0
    this.count = 0
  }

  /** Records one duration, in seconds (`le`: a value equal to a bound falls in that bound's bucket). */
  observe (seconds: number): void {
    const bounds = this.#bounds
    let i = 0
    while (i < bounds.length && seconds > (bounds[i] as number)) i++
    this.counts[i] = (this.counts[i] as number) + 1
    this.sum += seconds
    this.count++
  }
}

/** A value of the exported histogram, as prom-client's registry reads it. */
interface HistogramValue {
  value: number
  labels: Record<string, string | number>
  metricName: string
  /** Buckets only, always `null` (no exemplars), as prom-client gives them. */
  exemplar?: null
}

/** The histogram: its series by label set, exported as prom-client exports a `Histogram`. */
export class RequestDurations {
  readonly name: string
  readonly help: string
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly #bounds: readonly number[]
  readonly #series = new Map<string, DurationSeries>()

  constructor (opts: { name: string, help: string, buckets: readonly number[], registry: Registry }) {
    this.name = opts.name
    this.help = opts.help
    this.#bounds = [...opts.buckets].sort((a, b) => a - b)
    // prom-client's registry reads a metric through `get()`, `reset()` and its fields:
    // this class has them, but the registry's type only names prom-client's own classes.
    opts.registry.registerMetric(this as unknown as Metric)
  }

  /** The series of `labels`, made on first use. */
  series (labels: DurationLabels): DurationSeries {
    const key = `${labels.method}\u0000${labels.route}\u0000${labels.status_code}`
    let series = this.#series.get(key)
    if (series === undefined) {
      series = new DurationSeries({ ...labels }, this.#bounds)
      this.#series.set(key, series)
    }
    return series
  }

  /** Sets every series back to zero (prom-client's `registry.resetMetrics()`); the series stay, held by the routes' hooks. */
  reset (): void {
    for (const series of this.#series.values()) series.reset()
  }

  /**
   * What prom-client's `Histogram.get()` gives: per series, its cumulative buckets (`le`
   * first, as prom-client prints it), `+Inf`, sum and count.
   */
  async get (): Promise<{ name: string, help: string, type: 'histogram', aggregator: 'sum', values: HistogramValue[] }> {
    const values: HistogramValue[] = []
    const bucket = `${this.name}_bucket`
    for (const series of this.#series.values()) {
      let cumulative = 0
      this.#bounds.forEach((le, i) => {
        cumulative += series.counts[i] as number
        values.push({ value: cumulative, labels: { le, ...series.labels }, metricName: bucket, exemplar: null })
      })
      values.push({ value: series.count, labels: { le: '+Inf', ...series.labels }, metricName: bucket, exemplar: null })
      values.push({ value: series.sum, labels: { ...series.labels }, metricName: `${this.name}_sum` })
      values.push({ value: series.count, labels: { ...series.labels }, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}
