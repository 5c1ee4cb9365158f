/**
 * `GET /openapi.json` and `GET /docs`: the document served is the committed one, the
 * Swagger UI page and every asset it references are served locally, and the page
 * renders the operations in a real Chromium.
 */
import t from 'tap'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { chromium } from 'playwright-core'
import { SPEC_FILES } from '../../src/openapi/spec.js'
import { build } from '../helpers/build.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

t.test('the document and the docs page', async (t) => {
  const { gw } = await build(t)

  const committed = JSON.parse(await readFile(SPEC_FILES.json, 'utf8'))
  const res = await fetch(`${gw.url}/openapi.json`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.same(await res.json(), committed, '/openapi.json is the committed document')

  const viaUi = await fetch(`${gw.url}/docs/json`)
  t.same(await viaUi.json(), committed, 'the UI loads the same document')

  for (const path of ['/docs', '/docs/']) {
    const page = await fetch(gw.url + path)
    t.equal(page.status, 200, `${path} answers`)
    t.match(page.headers.get('content-type'), /^text\/html/)
    const html = await page.text()
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string)
    t.ok(assets.some((a) => a.endsWith('swagger-ui-bundle.js')), `${path}: loads the UI bundle`)
    for (const asset of assets) {
      const url = new URL(asset, gw.url + path)
      t.equal(url.origin, new URL(gw.url).origin, `${asset}: served by the gateway, no CDN`)
      const got = await fetch(url)
      t.equal(got.status, 200, `${path} → ${url.pathname}`)
      await got.arrayBuffer()
    }
  }
})

t.test('the docs page renders every operation in a browser', async (t) => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
  const { gw } = await build(t)
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] })
  t.teardown(async () => await browser.close())
  const page = await browser.newPage()
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(err.message))

  const spec = JSON.parse(await readFile(SPEC_FILES.json, 'utf8')) as { paths: Record<string, Record<string, unknown>> }
  const operations = Object.values(spec.paths).reduce((n, item) => n + Object.keys(item).length, 0)

  await page.goto(`${gw.url}/docs`)
  await page.locator('.opblock').nth(operations - 1).waitFor({ timeout: 30_000 })
  t.equal(await page.locator('.opblock').count(), operations, 'one block per operation')
  t.ok(await page.getByText('Create a mixer order').first().isVisible(), 'summaries shown')
  t.equal(await page.locator('.errors-wrapper').count(), 0, 'no spec errors shown')
  t.same(problems, [], 'no page errors')
})
