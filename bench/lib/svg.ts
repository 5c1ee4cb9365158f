/**
 * Grouped bar charts as standalone SVG (no library): categories along x, one bar per
 * series in each category, optional log scale and a dashed reference line (a target).
 */

/** One series of bars. */
export interface BarSeries {
  name: string
  /** One value per category; NaN (or a negative value) leaves a gap. */
  values: readonly number[]
  color: string
}

/** A chart to draw. */
export interface BarChart {
  title: string
  subtitle?: string
  categories: readonly string[]
  series: readonly BarSeries[]
  yLabel: string
  /** Logarithmic y axis (values must be > 0). */
  log?: boolean
  /** A horizontal dashed line, e.g. a target. */
  reference?: { value: number, label: string }
  /** Formats the value printed above each bar. */
  format?: (v: number) => string
}

const W = 720
const H = 400
const M = { top: 64, right: 24, bottom: 64, left: 72 }
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'

function escape (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** Default label: 3 significant digits, thousands separated. */
export function shortNumber (v: number): string {
  if (!Number.isFinite(v)) return ''
  const abs = Math.abs(v)
  if (abs >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`
  if (abs >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`
  if (abs >= 100) return Math.round(v).toLocaleString('en-US')
  return String(+v.toPrecision(3))
}

/** "Nice" linear ticks from 0 to at least `max`. */
function linearTicks (max: number): number[] {
  if (!(max > 0)) return [0, 1]
  const rough = max / 5
  const mag = 10 ** Math.floor(Math.log10(rough))
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= rough) ?? 10 * mag
  const ticks: number[] = []
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Math.round(v * 1e9) / 1e9)
  return ticks
}

/** Powers of ten covering [min, max]. */
function logTicks (min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min))
  const hi = Math.ceil(Math.log10(max))
  const ticks: number[] = []
  for (let e = lo; e <= Math.max(hi, lo + 1); e++) ticks.push(10 ** e)
  return ticks
}

/** Renders `chart` as an SVG document. */
export function renderBarChart (chart: BarChart): string {
  const format = chart.format ?? shortNumber
  const values = chart.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && v >= 0 && (chart.log !== true || v > 0))
  const refValue = chart.reference?.value
  const all = refValue === undefined ? values : [...values, refValue]
  const plotW = W - M.left - M.right
  const plotH = H - M.top - M.bottom
  let ticks: number[]
  let y: (v: number) => number
  if (chart.log === true) {
    ticks = logTicks(Math.min(...all, 1), Math.max(...all, 10))
    const lo = Math.log10(ticks[0] as number)
    const hi = Math.log10(ticks[ticks.length - 1] as number)
    y = (v) => M.top + plotH - (Math.log10(Math.max(v, ticks[0] as number)) - lo) / (hi - lo) * plotH
  } else {
    ticks = linearTicks(Math.max(...all, 0) * 1.08)
    const top = ticks[ticks.length - 1] as number
    y = (v) => M.top + plotH - (v / top) * plotH
  }
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT} font-size="12">`)
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`)
  out.push(`<text x="${M.left}" y="24" font-size="16" font-weight="600" fill="#111">${escape(chart.title)}</text>`)
  if (chart.subtitle !== undefined) out.push(`<text x="${M.left}" y="42" fill="#555">${escape(chart.subtitle)}</text>`)
  // Grid and y axis.
  for (const t of ticks) {
    const ty = y(t)
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${ty.toFixed(1)}" y2="${ty.toFixed(1)}" stroke="#e5e5e5"/>`)
    out.push(`<text x="${M.left - 8}" y="${(ty + 4).toFixed(1)}" text-anchor="end" fill="#555">${escape(shortNumber(t))}</text>`)
  }
  out.push(`<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">${escape(chart.yLabel)}</text>`)
  // Bars.
  const groupW = plotW / Math.max(1, chart.categories.length)
  const barW = Math.min(56, (groupW * 0.8) / Math.max(1, chart.series.length))
  chart.categories.forEach((category, ci) => {
    const gx = M.left + ci * groupW + (groupW - barW * chart.series.length) / 2
    chart.series.forEach((s, si) => {
      const v = s.values[ci] ?? Number.NaN
      // Negative values (noise of a difference) and gaps are not drawn.
      if (!Number.isFinite(v) || v < 0 || (chart.log === true && v <= 0)) return
      const x = gx + si * barW
      const top = y(v)
      const base = y(chart.log === true ? (ticks[0] as number) : 0)
      out.push(`<rect x="${(x + 2).toFixed(1)}" y="${top.toFixed(1)}" width="${(barW - 4).toFixed(1)}" height="${Math.max(0.5, base - top).toFixed(1)}" fill="${s.color}"/>`)
      out.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(top - 4).toFixed(1)}" text-anchor="middle" font-size="11" fill="#222">${escape(format(v))}</text>`)
    })
    out.push(`<text x="${(M.left + ci * groupW + groupW / 2).toFixed(1)}" y="${H - M.bottom + 18}" text-anchor="middle" fill="#333">${escape(category)}</text>`)
  })
  out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + plotH}" y2="${M.top + plotH}" stroke="#999"/>`)
  // Reference line.
  if (chart.reference !== undefined) {
    const ry = y(chart.reference.value)
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${ry.toFixed(1)}" y2="${ry.toFixed(1)}" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="6 4"/>`)
    out.push(`<text x="${W - M.right}" y="${(ry - 6).toFixed(1)}" text-anchor="end" fill="#c0392b">${escape(chart.reference.label)}</text>`)
  }
  // Legend.
  let lx = M.left
  const ly = H - 20
  for (const s of chart.series) {
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${s.color}"/>`)
    out.push(`<text x="${lx + 18}" y="${ly}" fill="#333">${escape(s.name)}</text>`)
    lx += 26 + s.name.length * 7
  }
  out.push('</svg>')
  return out.join('\n') + '\n'
}
