/**
 * The chart of the quota benchmark (standalone SVG, no library): pooled detection p95
 * against K (orders per 24 h), log–log, for trackgate and each baseline, with the
 * issue's targets marked.
 */
import type { QuotaBenchResult, SideFigures } from './run.js'

const W = 720
const H = 440
const M = { top: 64, right: 220, bottom: 56, left: 72 }
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'
const SERIES: Array<{ label: string, color: string, pick: (r: QuotaBenchResult['runs'][number]) => SideFigures }> = [
  { label: 'trackgate (allocator)', color: '#2563eb', pick: (r) => r.trackgate },
  { label: 'round-robin at the partition\'s rate', color: '#ea580c', pick: (r) => r.roundRobin },
  { label: 'best fixed interval (hindsight)', color: '#16a34a', pick: (r) => r.bestFixed },
  { label: 'previous scheduler', color: '#9333ea', pick: (r) => r.previous },
  { label: '60 s, no quota (demand)', color: '#6b7280', pick: (r) => r.demand }
]
const TARGETS: Array<[number, number]> = [[5, 2], [20, 5], [100, 30]]

/** Renders the chart of `result` as an SVG document. */
export function renderQuotaChart (result: QuotaBenchResult): string {
  const ks = result.runs.map((r) => r.k)
  const kMin = Math.min(...ks) / 1.5
  const kMax = Math.max(...ks) * 1.5
  const minutes = result.runs.flatMap((r) => SERIES.map((s) => s.pick(r).pooled.p95Ms / 60_000)).filter((v) => Number.isFinite(v) && v > 0)
  const yMin = Math.min(0.5, ...minutes) / 1.5
  const yMax = Math.max(60, ...minutes) * 1.5
  const pw = W - M.left - M.right
  const ph = H - M.top - M.bottom
  const x = (k: number): number => M.left + (Math.log(k / kMin) / Math.log(kMax / kMin)) * pw
  const y = (m: number): number => M.top + ph - (Math.log(Math.max(m, yMin) / yMin) / Math.log(yMax / yMin)) * ph
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="600">Detection delay p95 against K (${result.smoke ? 'smoke size' : `seeds ${result.seeds.join(', ')}`})</text>`,
    `<text x="${W / 2}" y="44" text-anchor="middle" font-size="12" fill="#444">K orders created per 24 h; quota ${result.quotaLimit}/24 h, poll partition ${result.runs[0]?.partition ?? '?'}; log–log; ◇ = issue 11 target</text>`,
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#ccc"/>`
  ]
  for (const m of [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1440]) {
    if (m < yMin || m > yMax) continue
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y(m)}" y2="${y(m)}" stroke="#eee"/>`)
    out.push(`<text x="${M.left - 6}" y="${y(m) + 4}" text-anchor="end" font-size="11">${m < 60 ? `${m} min` : `${m / 60} h`}</text>`)
  }
  for (const k of ks) out.push(`<text x="${x(k)}" y="${M.top + ph + 18}" text-anchor="middle" font-size="11">K = ${k}</text>`)
  for (const [k, m] of TARGETS) {
    if (!ks.includes(k)) continue
    out.push(`<path d="M${x(k)},${y(m) - 6} L${x(k) + 6},${y(m)} L${x(k)},${y(m) + 6} L${x(k) - 6},${y(m)} Z" fill="none" stroke="#111"/>`)
  }
  SERIES.forEach((s, i) => {
    const pts = result.runs.map((r) => [r.k, s.pick(r).pooled.p95Ms / 60_000] as const).filter(([, m]) => Number.isFinite(m))
    if (pts.length > 0) out.push(`<path d="${pts.map(([k, m], j) => `${j === 0 ? 'M' : 'L'}${x(k).toFixed(1)},${y(m).toFixed(1)}`).join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`)
    for (const [k, m] of pts) out.push(`<circle cx="${x(k).toFixed(1)}" cy="${y(m).toFixed(1)}" r="3.5" fill="${s.color}"/>`)
    const ly = M.top + 12 + i * 20
    out.push(`<line x1="${M.left + pw + 14}" x2="${M.left + pw + 34}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`)
    out.push(`<text x="${M.left + pw + 40}" y="${ly + 4}" font-size="11">${s.label}</text>`)
  })
  out.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">pooled detection p95</text>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}
