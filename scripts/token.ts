// Makes a gateway token: prints the token (give it to the client, once) and the entry to
// add to GATEWAY_TOKENS or GATEWAY_TOKENS_FILE (only its hash). See docs/access.md.
//   npm run --silent token -- --name shop-backend [--allowance 500] [--routes "POST /v1/*,DELETE /tracked-orders/*"]
import { parseArgs } from 'node:util'
import { hashToken, newToken, parseTokenEntries, type TokenEntry } from '../src/access/tokens.js'

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    allowance: { type: 'string' },
    routes: { type: 'string' }
  }
})
if (values.name === undefined) {
  process.stderr.write('usage: npm run --silent token -- --name NAME [--allowance N] [--routes "METHOD /path,…"]\n')
  process.exit(64)
}
const token = newToken()
const entry: TokenEntry = {
  name: values.name,
  sha256: hashToken(token),
  ...(values.routes === undefined ? {} : { routes: values.routes.split(',').map((r) => r.trim()).filter((r) => r !== '') }),
  ...(values.allowance === undefined ? {} : { daily_allowance: Number(values.allowance) })
}
try {
  parseTokenEntries(JSON.stringify([entry]))
} catch (err) {
  process.stderr.write(`token: ${(err as Error).message}\n`)
  process.exit(64)
}
process.stdout.write(`token (give it to the client; it is not stored anywhere):\n${token}\n\nentry (add it to GATEWAY_TOKENS or GATEWAY_TOKENS_FILE):\n${JSON.stringify(entry)}\n`)
