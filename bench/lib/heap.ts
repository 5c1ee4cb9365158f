/**
 * Where a process's heap goes: a V8 heap snapshot (`v8.writeHeapSnapshot()`) summed
 * per kind of object — with, for each kind, what holds its objects (the first strong
 * retainer: `ServerResponse.<symbol kOutHeaders>`) — and the difference of two
 * snapshots divided by what was added in between (e.g. per subscriber).
 */
import { readFileSync } from 'node:fs'

/** Objects of one kind: how many, their own (shallow) size, and who retains them. */
export interface HeapGroup {
  count: number
  bytes: number
  /** `Holder.edge` → objects of this group first retained that way. */
  retainers: Map<string, number>
}

interface SnapshotFile {
  snapshot: { meta: { node_fields: string[], node_types: [string[], ...unknown[]], edge_fields: string[], edge_types: [string[], ...unknown[]] } }
  nodes: number[]
  edges: number[]
  strings: string[]
}

/**
 * Sums a heap snapshot per group: JavaScript objects by constructor (`Object:Foo`),
 * closures by function name (`closure:bar`), native objects by name, everything else
 * by V8 node type (`(string)`, `(concatenated string)`, `(code)`, …).
 */
export function summarizeHeapSnapshot (path: string): Map<string, HeapGroup> {
  const file = JSON.parse(readFileSync(path, 'utf8')) as SnapshotFile
  const meta = file.snapshot.meta
  const nodeTypes = meta.node_types[0]
  const edgeTypes = meta.edge_types[0]
  const NW = meta.node_fields.length
  const EW = meta.edge_fields.length
  const typeAt = meta.node_fields.indexOf('type')
  const nameAt = meta.node_fields.indexOf('name')
  const sizeAt = meta.node_fields.indexOf('self_size')
  const edgeCountAt = meta.node_fields.indexOf('edge_count')
  const { nodes, edges, strings } = file
  const count = nodes.length / NW

  const keys: string[] = new Array<string>(count)
  for (let n = 0; n < count; n++) {
    const type = nodeTypes[nodes[n * NW + typeAt] as number] ?? 'unknown'
    const name = strings[nodes[n * NW + nameAt] as number] ?? ''
    if (type === 'object') keys[n] = `Object:${name}`
    else if (type === 'closure') keys[n] = `closure:${name === '' ? '(anonymous)' : name}`
    else if (type === 'native') keys[n] = `native:${name}`
    else keys[n] = `(${type})`
  }

  // First strong retainer of every node.
  const retainer: string[] = new Array<string>(count)
  let e = 0
  for (let n = 0; n < count; n++) {
    const edgeCount = nodes[n * NW + edgeCountAt] as number
    for (let k = 0; k < edgeCount; k++, e += EW) {
      const to = (edges[e + 2] as number) / NW
      if (retainer[to] !== undefined) continue
      const type = edgeTypes[edges[e] as number]
      if (type === 'weak' || type === 'shortcut') continue
      const nameOrIndex = edges[e + 1] as number
      const edge = type === 'element' ? '[]' : type === 'hidden' ? '[hidden]' : (strings[nameOrIndex] ?? '?')
      retainer[to] = `${(keys[n] as string).replace(/^Object:/, '')}.${edge}`
    }
  }

  const groups = new Map<string, HeapGroup>()
  for (let n = 0; n < count; n++) {
    const key = keys[n] as string
    let g = groups.get(key)
    if (g === undefined) {
      g = { count: 0, bytes: 0, retainers: new Map() }
      groups.set(key, g)
    }
    g.count++
    g.bytes += nodes[n * NW + sizeAt] as number
    const via = retainer[n] ?? '(root)'
    g.retainers.set(via, (g.retainers.get(via) ?? 0) + 1)
  }
  return groups
}

/** One line of a per-unit difference. */
export interface HeapDelta {
  group: string
  /** Objects added per unit. */
  perUnitCount: number
  /** Bytes added per unit. */
  perUnitBytes: number
  /** The retainers that grew most, with the objects added per unit through each. */
  via: Array<{ retainer: string, perUnit: number }>
}

/**
 * `(after − before) / units` per group, largest byte growth first; groups that grew by
 * less than `minBytes` per unit are left out. Each lists its `topRetainers` growing retainers.
 */
export function heapDelta (before: Map<string, HeapGroup>, after: Map<string, HeapGroup>, units: number, minBytes = 8, topRetainers = 3): HeapDelta[] {
  const out: HeapDelta[] = []
  const r2 = (v: number): number => Math.round(v * 100) / 100
  for (const [group, a] of after) {
    const b = before.get(group)
    const perUnitBytes = (a.bytes - (b?.bytes ?? 0)) / units
    if (perUnitBytes < minBytes) continue
    const via = [...a.retainers]
      .map(([retainer, n]) => ({ retainer, perUnit: r2((n - (b?.retainers.get(retainer) ?? 0)) / units) }))
      .filter((v) => v.perUnit >= 0.5)
      .sort((x, y) => y.perUnit - x.perUnit)
      .slice(0, topRetainers)
    out.push({ group, perUnitCount: r2((a.count - (b?.count ?? 0)) / units), perUnitBytes: Math.round(perUnitBytes), via })
  }
  return out.sort((x, y) => y.perUnitBytes - x.perUnitBytes)
}
