/**
 * Where a process spent its CPU: a V8 `.cpuprofile` (written by `node --cpu-prof`)
 * summed per function (self time) and per package or source directory (inclusive time:
 * a sample counts once for every package on its stack).
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}

interface CpuProfileFile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** Time in one function or one package. */
export interface ProfileEntry {
  name: string
  ms: number
  percent: number
}

/** The summary of a profile. */
export interface ProfileSummary {
  totalMs: number
  /** Functions by self time. */
  functions: ProfileEntry[]
  /** Packages (`fastify`, `@fastify/helmet`), `src/<dir>` of this repository and `node:<module>` by inclusive time. */
  packages: ProfileEntry[]
}

/** `node_modules/<pkg>`, `src/<dir>`, `node:<module>` or `(native)` of a script URL. */
export function packageOf (url: string): string {
  if (url === '') return '(native)'
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (nm !== null) return nm[1] as string
  if (url.startsWith('node:')) return url.split('/')[0] as string
  const src = /\/(src\/[^/]+)/.exec(url)
  if (src !== null) return (src[1] as string).replace(/\.js$/, '')
  return url.replace(/^.*\//, '')
}

/** Summarizes the `.cpuprofile` at `path`, keeping the `top` largest entries of each list. */
export function summarizeCpuProfile (path: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfileFile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const self = new Map<number, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    self.set(id, (self.get(id) ?? 0) + dt)
    total += dt
  })
  const functions = new Map<string, number>()
  const packages = new Map<string, number>()
  for (const [id, us] of self) {
    const node = byId.get(id)
    if (node === undefined) continue
    const f = node.callFrame
    const fname = `${f.functionName === '' ? '(anonymous)' : f.functionName} (${packageOf(f.url)}${f.url === '' ? '' : `:${f.lineNumber + 1}`})`
    functions.set(fname, (functions.get(fname) ?? 0) + us)
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const p = packageOf(byId.get(cur)?.callFrame.url ?? '')
      if (seen.has(p)) continue
      seen.add(p)
      packages.set(p, (packages.get(p) ?? 0) + us)
    }
  }
  const list = (m: Map<string, number>): ProfileEntry[] => [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10, percent: Math.round(1000 * us / Math.max(1, total)) / 10 }))
  return { totalMs: Math.round(total / 1000), functions: list(functions), packages: list(packages) }
}
