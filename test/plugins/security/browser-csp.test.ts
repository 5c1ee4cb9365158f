/**
 * The security headers must not break the pages: `/docs` (Swagger UI) and the demo
 * page `/` render in a real Chromium with no Content-Security-Policy violation.
 */
import t, { type Test } from 'tap'
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import { build } from '../../helpers/build.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

async function launch (t: Test): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] })
  t.teardown(async () => await browser.close())
  return browser
}

/** Records CSP violations (as the page sees them) and console errors. */
async function watch (page: Page): Promise<{ violations: () => Promise<string[]>, errors: string[] }> {
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`))
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`) })
  await page.addInitScript(() => {
    const seen: string[] = []
    ;(window as unknown as { cspViolations: string[] }).cspViolations = seen
    document.addEventListener('securitypolicyviolation', (e) => { seen.push(`${e.violatedDirective} ${e.blockedURI}`) })
  })
  return {
    errors,
    violations: async () => await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)
  }
}

t.test('Swagger UI at /docs renders under the CSP', async (t) => {
  const { gw } = await build(t)
  const browser = await launch(t)
  const page = await browser.newPage()
  const seen = await watch(page)
  const res = await page.goto(`${gw.url}/docs`, { waitUntil: 'load' })
  t.ok(res?.ok(), '/docs answers')
  await page.locator('.opblock').first().waitFor({ timeout: 60_000 })
  t.ok(await page.locator('.opblock').count() > 5, 'operations are listed')
  t.same(await seen.violations(), [], 'no CSP violation')
  t.same(seen.errors.filter((e) => /Content Security Policy|Refused to/i.test(e)), [], 'no CSP error in the console')
})

t.test('the demo page renders under its CSP', async (t) => {
  const { gw } = await build(t)
  const browser = await launch(t)
  const page = await browser.newPage()
  const seen = await watch(page)
  const res = await page.goto(`${gw.url}/`, { waitUntil: 'load' })
  t.ok(res?.ok())
  await page.waitForLoadState('networkidle', { timeout: 30_000 })
  t.same(await seen.violations(), [], 'no CSP violation')
  t.same(seen.errors.filter((e) => /Content Security Policy|Refused to/i.test(e)), [], 'no CSP error in the console')
})
