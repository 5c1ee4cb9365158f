/**
 * Plain JavaScript for the benchmark's child processes.
 *
 * The measured processes (gateway, baseline proxy) and the load generators must run
 * the way production does — `node file.js`, no TypeScript loader in memory (the
 * compiler alone would add ~100 MB to the gateway's RSS and GC work to its CPU). So,
 * before a run, every `.ts` file of `src/` and `bench/` is transpiled (type-only
 * syntax stripped, nothing type-checked: `npm run typecheck` does that) into a
 * temporary directory that mirrors the repository, with `package.json` copied and
 * `node_modules`, `web` and `openapi` linked, so imports and assets resolve as in the
 * working tree. Takes about a second.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

/** The repository root (this file is `bench/lib/build.ts`). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Directories transpiled. */
const SOURCES = ['src', 'bench']
/** Linked into the build so module resolution and assets work. */
const LINKS = ['node_modules', 'web', 'openapi']

function * tsFiles (dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'results' && entry.name !== 'charts') yield * tsFiles(full)
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      yield full
    }
  }
}

/** A transpiled copy of the repository's code. */
export interface BenchBuild {
  /** Root of the copy. */
  root: string
  /** Absolute path of the JavaScript file built from `relPath` (e.g. `bench/gateway-process.ts`). */
  entry: (relPath: string) => string
  /** Deletes the copy. */
  remove: () => void
}

/** Transpiles `src/` and `bench/` into a fresh temporary directory. */
export function buildForChildren (): BenchBuild {
  const root = mkdtempSync(join(tmpdir(), 'trackgate-bench-'))
  const compilerOptions: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    verbatimModuleSyntax: true,
    sourceMap: false,
    inlineSourceMap: false
  }
  for (const dir of SOURCES) {
    for (const file of tsFiles(join(REPO_ROOT, dir))) {
      const out = join(root, relative(REPO_ROOT, file)).replace(/\.ts$/, '.js')
      const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file })
      mkdirSync(dirname(out), { recursive: true })
      writeFileSync(out, outputText)
    }
  }
  cpSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'))
  for (const name of LINKS) {
    if (existsSync(join(REPO_ROOT, name))) symlinkSync(join(REPO_ROOT, name), join(root, name), 'dir')
  }
  return {
    root,
    entry: (relPath) => {
      const file = join(root, relPath.replace(/\.ts$/, '.js'))
      if (!existsSync(file)) throw new Error(`no built entry ${relPath} in ${root}`)
      return file
    },
    remove: () => { rmSync(root, { recursive: true, force: true }) }
  }
}
