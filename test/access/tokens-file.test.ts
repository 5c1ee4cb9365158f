/**
 * Gateway tokens rotate without a restart: the tokens file is re-read when it changes
 * (looked at, at most, every RELOAD_CHECK_MS), so a new token works and a removed one
 * gets 401 on the running gateway.
 */
import t from 'tap'
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashToken, newToken, RELOAD_CHECK_MS } from '../../src/access/tokens.js'
import { build } from '../helpers/build.js'
import { request } from '../helpers/http.js'
import { waitFor } from '../helpers/wait-for.js'

const TRACKCODE = '6A5FB3BA8A150EC9'

t.test('rotation through GATEWAY_TOKENS_FILE: add the new token, switch, remove the old — no restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trackgate-tokens-'))
  const file = join(dir, 'tokens.json')
  const oldToken = newToken()
  const newer = newToken()
  let version = 0
  /** Writes the file with a modification time that surely differs from the last one. */
  const write = (tokens: string[]): void => {
    writeFileSync(file, JSON.stringify(tokens.map((token) => ({ name: 'shop-backend', sha256: hashToken(token) }))))
    version++
    const when = new Date(Date.now() + version * 1000)
    utimesSync(file, when, when)
  }
  write([oldToken])
  const { gw } = await build(t, { config: { gatewayTokens: [], gatewayTokensFile: file }, logs: true })
  const mint = async (token: string): Promise<number> => (await request(`${gw.url}/orders/${TRACKCODE}/token`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status

  t.equal(await mint(oldToken), 200, 'the token in the file works')
  t.equal(await mint(newer), 401, 'the next one does not, yet')

  write([oldToken, newer])
  await waitFor(async () => await mint(newer) === 200, 'the new token to be read from the file', RELOAD_CHECK_MS * 3)
  t.equal(await mint(oldToken), 200, 'both are valid during the switch')

  write([newer])
  await waitFor(async () => await mint(oldToken) === 401, 'the removed token to be refused', RELOAD_CHECK_MS * 3)
  t.equal(await mint(newer), 200, 'the new one still works')

  writeFileSync(file, '[{"name": broken')
  utimesSync(file, new Date(Date.now() + 10_000), new Date(Date.now() + 10_000))
  await waitFor(async () => {
    await mint(newer)
    return gw.logs.some((l) => /gateway tokens file invalid/.test(l.msg))
  }, 'the broken file to be read', RELOAD_CHECK_MS * 3)
  t.equal(await mint(newer), 200, 'a broken file keeps the tokens last read')
})
