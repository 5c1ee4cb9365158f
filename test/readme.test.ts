// The README is part of the interface: its configuration table, commands and route
// list must match the code.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { configTable } from '../src/config-table.js'

const root = new URL('../', import.meta.url)
const readme = readFileSync(new URL('README.md', root), 'utf8')

t.test('the configuration table is the one generated from src/config.ts', async (t) => {
  const m = /<!-- config-table -->\n([\s\S]*?)\n<!-- \/config-table -->/.exec(readme)
  t.ok(m, 'README has the config-table markers')
  t.equal(m?.[1], configTable(), 'run `npm run --silent config-table` and paste its output between the markers')
})

t.test('the quick start commands exist', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> }
  t.match(readme, /npm start\b/)
  t.match(readme, /npm test\b/)
  t.ok(pkg.scripts.start, 'npm start is defined')
  t.ok(pkg.scripts.test, 'npm test is defined')
})

t.test('every documented operation is listed in the README', async (t) => {
  const spec = JSON.parse(readFileSync(new URL('openapi/openapi.json', root), 'utf8')) as { paths: Record<string, Record<string, unknown>> }
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const method of Object.keys(ops)) {
      const readable = path.replace(/\{(\w+)\}/g, ':$1')
      t.ok(readme.includes(`${method.toUpperCase()} ${readable}`), `${method.toUpperCase()} ${readable} is in the README`)
    }
  }
})
