/**
 * Result files and printed tables.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from './build.js'

/** The machine a result was measured on. */
export interface MachineInfo {
  cpuModel: string
  nproc: number
  memoryGiB: number
  node: string
  kernel: string
  openFileLimit: string
}

/** Describes this machine. */
export function machineInfo (): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown'
  const sh = (cmd: string): string => {
    try {
      return execFileSync('sh', ['-c', cmd], { encoding: 'utf8' }).trim()
    } catch {
      return 'unknown'
    }
  }
  return {
    cpuModel: model.trim(),
    nproc: Number(sh('nproc')) || cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
    node: process.version,
    kernel: sh('uname -sr'),
    openFileLimit: sh('ulimit -n')
  }
}

/** Where result files go. */
export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results')

/** What a result file holds around a benchmark's own figures. */
export interface ResultFile<T> {
  benchmark: string
  /** ISO time of the end of the run. */
  finishedAt: string
  /** The command line that produced it. */
  command: string
  machine: MachineInfo
  smoke: boolean
  /**
   * 1/5/15-minute load averages when the benchmark started and ended: anything else
   * running on the machine shares its cores with the measured processes.
   */
  loadAverage: { start: number[], end: number[] }
  result: T
}

/** The 1/5/15-minute load averages, rounded. */
export function loadAverage (): number[] {
  return loadavg().map((v) => Math.round(v * 100) / 100)
}

/** How a result was produced. */
export interface ResultContext {
  smoke: boolean
  command: string
  /** {@link loadAverage} when the benchmark started. */
  loadAtStart: number[]
  /** Directory; default `bench/results`. */
  dir?: string
}

/** Writes `<dir>/<name>.json` (`<name>.smoke.json` for smoke runs); returns its path. */
export function writeResult<T> (name: string, result: T, ctx: ResultContext): string {
  const dir = ctx.dir ?? RESULTS_DIR
  mkdirSync(dir, { recursive: true })
  const file: ResultFile<T> = {
    benchmark: name,
    finishedAt: new Date().toISOString(),
    command: ctx.command,
    machine: machineInfo(),
    smoke: ctx.smoke,
    loadAverage: { start: ctx.loadAtStart, end: loadAverage() },
    result
  }
  const smoke = ctx.smoke
  const path = join(dir, `${name}${smoke ? '.smoke' : ''}.json`)
  writeFileSync(path, JSON.stringify(file, null, 2) + '\n')
  return path
}

/** A Markdown table. */
export function table (headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cell = (v: string | number): string => typeof v === 'number' ? formatNumber(v) : v
  const lines = [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)
  ]
  return lines.join('\n')
}

/** A number for a table: thousands separated, at most 2 decimals (3 below 1). */
export function formatNumber (v: number): string {
  if (!Number.isFinite(v)) return '–'
  const digits = Math.abs(v) < 1 && v !== 0 ? 3 : Math.abs(v) < 100 ? 2 : Math.abs(v) < 10_000 ? 1 : 0
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
}

/** `×1.23` (a ratio to a baseline). */
export function formatRatio (v: number): string {
  return Number.isFinite(v) ? `×${formatNumber(v)}` : '–'
}

/** The targets list as a table. */
export function targetsTable (targets: ReadonlyArray<{ target: string, value: string, met: boolean }>): string {
  return table(['target', 'measured', 'met'], targets.map((t) => [t.target, t.value, t.met ? 'yes' : '**no**']))
}
