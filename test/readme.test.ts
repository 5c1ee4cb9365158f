// The README and the pages of docs/ are part of the interface: the configuration
// table, the commands, the route list and the paths they name must match the code.
import t from 'tap'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { configTable } from '../src/config-table.js'
import { buildApp } from '../src/app.js'
import { defaultConfig } from '../src/config.js'

const root = new URL('../', import.meta.url)
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8')
const readme = read('README.md')
const pages = readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)

/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces → hyphens. */
function slug (heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')
}

/** The anchors of the headings of a Markdown file (outside code blocks). */
function anchors (text: string): Set<string> {
  const outside = text.replace(/^```[\s\S]*?^```/gm, '')
  return new Set([...outside.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] as string)))
}

/** `METHOD /path` of every row of the README's route table (`| GET | \`/v1/ping\` | … |`). */
function routeRows (text: string): string[] {
  const rows: string[] = []
  for (const m of text.matchAll(/^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \|/gm)) rows.push(`${m[1]} ${m[2]}`)
  return rows
}

t.test('the configuration table is the one generated from src/config.ts', async (t) => {
  const page = read('docs/configuration.md')
  const m = /<!-- config-table -->\n([\s\S]*?)\n<!-- \/config-table -->/.exec(page)
  t.ok(m, 'docs/configuration.md has the config-table markers')
  t.equal(m?.[1], configTable(), 'run `npm run --silent config-table` and paste its output between the markers of docs/configuration.md')
})

t.test('the quick start commands exist', async (t) => {
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> }
  t.match(readme, /npm start\b/)
  t.match(readme, /npm test\b/)
  t.ok(pkg.scripts.start, 'npm start is defined')
  t.ok(pkg.scripts.test, 'npm test is defined')
  for (const file of ['README.md', ...pages]) {
    for (const m of read(file).matchAll(/npm run (?:--silent )?([\w:-]+)/g)) {
      t.ok(pkg.scripts[m[1] as string], `${file}: npm run ${m[1]} is defined`)
    }
  }
})

t.test('every documented operation is listed in the README', async (t) => {
  const spec = JSON.parse(read('openapi/openapi.json')) as { paths: Record<string, Record<string, unknown>> }
  const rows = routeRows(readme)
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const method of Object.keys(ops)) {
      const readable = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`
      t.ok(rows.includes(readable), `${readable} is in the README's route table`)
    }
  }
})

t.test('every route the README lists exists', async (t) => {
  // No API key: the built-in simulator runs, so the demo routes exist too.
  const app = await buildApp({ ...defaultConfig(), stateBackend: 'memory' }, { logger: false })
  t.teardown(async () => { await app.close() })
  await app.ready()
  const rows = routeRows(readme)
  t.ok(rows.length >= 20, 'the README has a route table')
  for (const row of rows) {
    const [method, url] = row.split(' ') as [string, string]
    t.ok(app.hasRoute({ method: method as 'GET', url }), `${row} is a route of the app`)
  }
})

t.test('the files the docs name exist', async (t) => {
  for (const file of ['README.md', ...pages]) {
    const text = read(file)
    const base = new URL(file, root)
    // Relative Markdown links: [text](path), [text](path#anchor), [text](#anchor).
    for (const m of text.matchAll(/\]\((?!https?:|mailto:)([^)#\s]*)(?:#([^)\s]*))?\)/g)) {
      const [, path = '', anchor] = m
      const target = path === '' ? base : new URL(path, base)
      t.ok(existsSync(target), `${file}: link ${path} resolves`)
      if (anchor !== undefined && existsSync(target)) {
        t.ok(anchors(readFileSync(target, 'utf8')).has(anchor), `${file}: ${path}#${anchor} is a heading`)
      }
    }
    // Repository paths in code spans: `src/…`, `web/…`, `bench/…`, `scripts/…`, `openapi/…`,
    // `test/helpers/…` (not patterns such as `src/state/<port>/`).
    for (const m of text.matchAll(/`((?:src|web|bench|scripts|openapi|test\/helpers)\/[\w./-]*)`/g)) {
      t.ok(existsSync(new URL(m[1] as string, root)), `${file}: ${m[1]} exists`)
    }
  }
})
