/**
 * The demo page in a real Chromium (Debian's `chromium` driven by `playwright-core`):
 * create a simulated order, pay part of it, pay the rest, and see it reach `Done` on
 * screen — at phone width. Screenshots land in /tmp for a human look:
 * `/tmp/trackgate-demo.png` (phone, 375×812) and `/tmp/trackgate-demo-desktop.png`.
 */
import t, { type Test } from 'tap'
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildApp } from '../../src/app.js'
import { defaultConfig, type Config } from '../../src/config.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const PHONE = { width: 375, height: 812 }
const DESKTOP = { width: 1280, height: 900 }
const LONG = 60_000

/** A gateway on its embedded simulator, with fast lifecycle and polling. */
async function startDemoGateway (t: Test): Promise<string> {
  const config: Config = {
    ...defaultConfig(),
    apiKey: undefined,
    logLevel: 'silent',
    stateBackend: 'memory',
    // The default 1000 calls/day would stretch polling to ~90 s per order.
    dailyQuota: 10_000_000,
    pollIntervalMs: 100,
    pollWaitingPaymentMs: 100,
    pollMaxIntervalMs: 1000,
    pollerGraceMs: 200,
    sseRetryMs: 500
  }
  const app = await buildApp(config, { logger: false, simulator: { timing: { confirmMs: 300, outputConfirmMs: 300 } } })
  t.teardown(async () => await app.close())
  return await app.listen({ host: '127.0.0.1', port: 0 })
}

async function launch (t: Test): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync']
  })
  t.teardown(async () => await browser.close())
  return browser
}

/** Collects uncaught page errors and console errors. */
function watchErrors (page: Page): string[] {
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`)
  })
  return problems
}

async function statusText (page: Page): Promise<string> {
  return (await page.getByTestId('status').textContent())?.trim() ?? ''
}

t.test('demo page: create, pay in two steps, watch it reach Done (phone width)', async (t) => {
  const url = await startDemoGateway(t)
  const browser = await launch(t)
  const page = await browser.newPage({ viewport: PHONE })
  page.setDefaultTimeout(LONG)
  const problems = watchErrors(page)

  await page.goto(url)
  await page.locator('#create-form').waitFor({ state: 'visible' })
  await page.locator('#coin option[value="BTC:btc"]').waitFor({ state: 'attached' })
  t.equal(await page.locator('#coin').inputValue(), 'BTC:btc', 'BTC preselected from /v1/meta/mixer')
  t.ok((await page.locator('#address-1').inputValue()).length > 20, 'example address prefilled')
  await page.getByLabel('Delay of output 2 (minutes)').fill('0')
  await page.getByRole('button', { name: 'Create order' }).click()

  await page.locator('#order').waitFor({ state: 'visible' })
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.getAttribute('data-status') === 'WaitingForPayment')
  t.equal(await statusText(page), 'Waiting for payment')
  const trackcode = (await page.locator('#order-trackcode').textContent()) ?? ''
  t.match(trackcode, /^[0-9A-F]{16}$/, 'the trackcode is shown')
  t.equal(new URL(page.url()).hash, `#${trackcode}`, 'and kept in the URL')
  t.ok(await page.locator('#qr').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'deposit QR shown')
  t.ok(await page.locator('#deposit-address').isVisible(), 'deposit address shown')
  t.equal(await page.locator('#deposit-simulated').textContent(), 'simulated — do not send funds')
  t.ok(await page.locator('#deposit-simulated').isVisible(), 'and labelled as simulated')

  await page.getByRole('button', { name: 'Simulate partial payment' }).click()
  await page.waitForFunction(() => document.querySelector('#funding-percent')?.textContent === '50 %')
  await page.locator('#funding-reason').waitFor({ state: 'visible' })
  t.match(await page.locator('#funding-reason').textContent(), /Still missing: 0\.00500000 BTC/)
  await page.screenshot({ path: '/tmp/trackgate-demo-partial.png', fullPage: true })

  await page.getByRole('button', { name: 'Simulate payment', exact: true }).click()
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'Done', null, { timeout: LONG })
  t.equal(await statusText(page), 'Done', 'the page shows Done')

  t.equal(await page.locator('#timeline li.done').count(), 4, 'every step of the timeline done')
  t.equal(await page.locator('#funding-percent').textContent(), '100 %')
  const outputs = page.locator('#outputs li')
  t.equal(await outputs.count(), 2)
  for (let i = 0; i < 2; i++) {
    t.match(await outputs.nth(i).locator('.badge').textContent(), 'Sent · confirmed')
    t.match(await outputs.nth(i).locator('.output-tx .mono').textContent(), /^[0-9a-f]{64}$/, 'tx hash shown')
  }
  t.notOk(await page.locator('#demo-actions').isVisible(), 'no payment buttons once funded')
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  t.ok(overflow <= 0, `no horizontal scrolling at ${PHONE.width}px (overflow ${overflow}px)`)

  await page.screenshot({ path: '/tmp/trackgate-demo.png', fullPage: true })
  await page.setViewportSize(DESKTOP)
  await page.screenshot({ path: '/tmp/trackgate-demo-desktop.png', fullPage: true })

  // Back to the start, then track the finished order by its trackcode.
  await page.getByRole('button', { name: 'Track another order' }).click()
  await page.locator('#start').waitFor({ state: 'visible' })
  t.equal(new URL(page.url()).hash, '', 'the trackcode left the URL')
  await page.getByLabel('Trackcode').fill(trackcode.toLowerCase())
  await page.getByRole('button', { name: 'Track', exact: true }).click()
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'Done')
  await page.waitForFunction(() => document.querySelector('#order-meta')?.textContent?.includes('tracking ended') === true)
  t.ok(await page.locator('#deposit-address').isVisible(), 'the deposit address is remembered for this tab')
  t.same(problems, [], 'no script or console error')
})

t.test('demo page: an unknown trackcode is reported, a malformed one refused', async (t) => {
  const url = await startDemoGateway(t)
  const browser = await launch(t)
  const page = await browser.newPage({ viewport: PHONE })
  page.setDefaultTimeout(LONG)
  const problems = watchErrors(page)
  await page.goto(url)
  await page.locator('#create-form').waitFor({ state: 'visible' })
  await page.screenshot({ path: '/tmp/trackgate-start.png', fullPage: true })

  await page.getByLabel('Trackcode').fill('not-a-code')
  await page.getByRole('button', { name: 'Track', exact: true }).click()
  t.match(await page.locator('#track-error').textContent(), /16 characters/)
  t.notOk(await page.locator('#order').isVisible())

  await page.getByLabel('Trackcode').fill('0123456789abcdef')
  await page.getByRole('button', { name: 'Track', exact: true }).click()
  await page.locator('#fatal').waitFor({ state: 'visible' })
  t.match(await page.locator('#fatal').textContent(), /No order 0123456789ABCDEF/)
  t.equal(await statusText(page), 'Not found')
  // The 404 of the refused stream is logged by Chromium itself; nothing else may fail.
  t.same(problems.filter((p) => !/status of 404/.test(p)), [], 'no script error')
})
