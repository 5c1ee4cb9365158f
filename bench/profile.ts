/**
 * Prints where a profiled process spent its CPU:
 *
 *   BENCH_PROFILE_DIR=/tmp/prof node --import @tapjs/typescript/import bench/run.ts --only passthrough
 *   node --import @tapjs/typescript/import bench/profile.ts /tmp/prof/CPU.*.cpuprofile [top]
 */
import { summarizeCpuProfile } from './lib/cpu-profile.js'
import { table } from './lib/report.js'

const [path, top] = process.argv.slice(2)
if (path === undefined) {
  process.stderr.write('usage: bench/profile.ts <file.cpuprofile> [top]\n')
  process.exit(2)
}
const summary = summarizeCpuProfile(path, top === undefined ? 25 : Number(top))
process.stdout.write(`${summary.totalMs} ms sampled\n\n`)
process.stdout.write(table(['function (self time)', 'ms', '%'], summary.functions.map((f) => [f.name, f.ms, f.percent])) + '\n\n')
process.stdout.write(table(['package / module (inclusive)', 'ms', '%'], summary.packages.map((p) => [p.name, p.ms, p.percent])) + '\n')
