/**
 * Deposit addresses, transaction hashes and address masking.
 */
import { randomBytes, randomInt } from 'node:crypto'

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

function pick (alphabet: string, length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)]
  return out
}

/**
 * A fresh, random deposit address in the format of `network` (the same formats
 * `src/upstream/address-formats.ts` checks): P2SH-style for BTC/LTC/DOGE, `0x…` for
 * EVM networks, `T…` for Tron, base58 for Solana, `r…` for XRP, `UQ…` for TON.
 */
export function depositAddress (network: string): string {
  switch (network) {
    case 'btc': return '3' + pick(BASE58, 33)
    case 'ltc': return 'M' + pick(BASE58, 33)
    case 'doge': return 'D' + pick(BASE58, 33)
    case 'eth':
    case 'erc20':
    case 'bep20': return '0x' + randomBytes(20).toString('hex')
    case 'trc20':
    case 'trx': return 'T' + pick(BASE58, 33)
    case 'sol': return pick(BASE58, 44)
    case 'xrp': return 'r' + pick(BASE58, 33)
    case 'ton': return 'UQ' + pick(BASE64URL, 46)
    default: return pick(BASE58, 34)
  }
}

/**
 * Masks an address the way `/v1/orders/check` does by default: the first 4 characters,
 * an ellipsis (U+2026) and the last 2 (`35iMHbUZeTssxBodiHwEEkb32jpBfVueEL` → `35iM…EL`).
 * Strings of 6 characters or fewer are returned unchanged.
 */
export function maskAddress (address: string): string {
  return address.length <= 6 ? address : `${address.slice(0, 4)}…${address.slice(-2)}`
}
