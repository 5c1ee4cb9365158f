/**
 * The chart of the quota benchmark (standalone SVG, no library): for each K, the
 * checks in the trailing 24 h over the simulated day — trackgate against the fixed
 * 60 s baseline under the same quota — with the poll budget as a dashed line and the
 * moment the baseline ran out of quota marked.
 */
import type { QuotaBenchResult } from './run.js'

const PANEL_W = 330
const PANEL_H = 300
const M = { top: 70, right: 16, bottom: 96, left: 56 }
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'
const COLORS = { trackgate: '#2563eb', baseline: '#ea580c', budget: '#6b7280' }

function path (points: ReadonlyArray<[number, number]>, x: (v: number) => number, y: (v: number) => number): string {
  return points.map(([a, b], i) => `${i === 0 ? 'M' : 'L'}${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')
}

/** Renders the chart of `result` as an SVG document. */
export function renderQuotaChart (result: QuotaBenchResult): string {
  const budget = result.settings.quotaLimit - result.settings.quotaReserve
  const hours = result.settings.horizonMs / 3_600_000
  const width = M.left + result.runs.length * (PANEL_W + 24) + M.right
  const height = M.top + PANEL_H + M.bottom
  const yMax = Math.ceil(Math.max(budget, ...result.runs.flatMap((r) => [...r.trackgate.windowSeries, ...r.baseline.windowSeries].map(([, n]) => n))) / 200) * 200 + 100
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="26" text-anchor="middle" font-size="17" font-weight="600">Upstream checks in the trailing 24 h over a simulated day (${result.smoke ? 'smoke size' : `seed ${result.seed}`})</text>`,
    `<text x="${width / 2}" y="48" text-anchor="middle" font-size="12" fill="#444">K orders created over the first ${result.workload.creationWindowMs / 3_600_000} h; quota ${result.settings.quotaLimit}/24 h of which ${budget} for checks (dashed); × marks when the baseline's first check was refused</text>`
  ]
  result.runs.forEach((run, i) => {
    const x0 = M.left + i * (PANEL_W + 24)
    const x = (h: number): number => x0 + (h / hours) * PANEL_W
    const y = (n: number): number => M.top + PANEL_H - (n / yMax) * PANEL_H
    out.push(`<rect x="${x0}" y="${M.top}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#ccc"/>`)
    for (let n = 0; n <= yMax; n += 200) {
      out.push(`<line x1="${x0}" x2="${x0 + PANEL_W}" y1="${y(n)}" y2="${y(n)}" stroke="#eee"/>`)
      if (i === 0) out.push(`<text x="${x0 - 6}" y="${y(n) + 4}" text-anchor="end" font-size="11">${n}</text>`)
    }
    const step = hours > 24 ? 12 : hours > 6 ? 2 : 1
    for (let h = 0; h <= hours; h += step) out.push(`<text x="${x(h)}" y="${M.top + PANEL_H + 16}" text-anchor="middle" font-size="11">${h} h</text>`)
    out.push(`<line x1="${x0}" x2="${x0 + PANEL_W}" y1="${y(budget)}" y2="${y(budget)}" stroke="${COLORS.budget}" stroke-dasharray="6 4"/>`)
    out.push(`<path d="${path(run.baseline.windowSeries, x, y)}" fill="none" stroke="${COLORS.baseline}" stroke-width="2"/>`)
    out.push(`<path d="${path(run.trackgate.windowSeries, x, y)}" fill="none" stroke="${COLORS.trackgate}" stroke-width="2"/>`)
    const ranOut = run.baseline.firstRefusalAfterMs
    if (ranOut !== null) {
      const h = ranOut / 3_600_000
      out.push(`<text x="${x(h)}" y="${y(budget) - 8}" text-anchor="middle" font-size="14" font-weight="700" fill="${COLORS.baseline}">×</text>`)
      out.push(`<text x="${x(h) + 8}" y="${y(budget) - 22}" font-size="11" fill="${COLORS.baseline}">out of quota at ${h.toFixed(1)} h</text>`)
    }
    out.push(`<text x="${x0 + PANEL_W / 2}" y="${M.top - 8}" text-anchor="middle" font-size="14" font-weight="600">K = ${run.k}</text>`)
    const tg = run.trackgate
    const bl = run.baseline
    out.push(`<text x="${x0 + PANEL_W / 2}" y="${M.top + PANEL_H + 40}" text-anchor="middle" font-size="12" fill="${COLORS.trackgate}">trackgate: ${tg.checksPerOrder.toFixed(1)} checks/order, p95 ${fmt(tg.detection.p95Ms)}</text>`)
    out.push(`<text x="${x0 + PANEL_W / 2}" y="${M.top + PANEL_H + 58}" text-anchor="middle" font-size="12" fill="${COLORS.baseline}">baseline: ${bl.checksPerOrder.toFixed(1)} checks/order, p95 ${fmt(bl.detection.p95Ms)}</text>`)
    out.push(`<text x="${x0 + PANEL_W / 2}" y="${M.top + PANEL_H + 76}" text-anchor="middle" font-size="12" fill="#444">baseline without quota: ${run.baselineUnlimited.checksPerOrder.toFixed(1)} checks/order</text>`)
  })
  out.push(`<text transform="translate(16 ${M.top + PANEL_H / 2}) rotate(-90)" text-anchor="middle" font-size="12">checks in the trailing 24 h</text>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}

function fmt (ms: number): string {
  if (!Number.isFinite(ms)) return '∞'
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`
  return `${(ms / 3_600_000).toFixed(1)} h`
}
