/**
 * Deposit addresses (deliberately invalid: simulated orders must never receive real
 * funds) and address masking.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto'
import { keccak256 } from './keccak.js'

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
const RIPPLE58 = 'rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz'

/** Base58 of `bytes` in `alphabet` (leading zero bytes as the alphabet's first character). */
function base58 (bytes: Uint8Array, alphabet: string): string {
  let n = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`)
  let out = ''
  while (n > 0n) {
    out = (alphabet[Number(n % 58n)] as string) + out
    n /= 58n
  }
  for (const b of bytes) {
    if (b !== 0) break
    out = (alphabet[0] as string) + out
  }
  return out
}

/** Base58Check of `version` + 20 random bytes, its 4-byte checksum deliberately wrong. */
function brokenBase58Check (version: number, alphabet = BASE58): string {
  const payload = Buffer.concat([Buffer.from([version]), randomBytes(20)])
  const checksum = createHash('sha256').update(createHash('sha256').update(payload).digest()).digest().subarray(0, 4)
  checksum[0] = (checksum[0] as number) ^ 0xff
  return base58(Buffer.concat([payload, checksum]), alphabet)
}

/** A mixed-case `0x…` address whose EIP-55 checksum casing is deliberately wrong. */
function brokenEip55 (): string {
  for (;;) {
    const hex = randomBytes(20).toString('hex')
    const hash = keccak256(Buffer.from(hex, 'ascii')).toString('hex')
    const right = [...hex].map((ch, i) => parseInt(hash[i] as string, 16) >= 8 ? ch.toUpperCase() : ch).join('')
    // Flip the case of one letter; keep only results that stay mixed-case (an all-lower
    // or all-upper address carries no checksum at all, and wallets accept it).
    const letters = [...right].flatMap((ch, i) => /[a-fA-F]/.test(ch) ? [i] : [])
    if (letters.length < 2) continue
    const at = letters[randomInt(letters.length)] as number
    const ch = right[at] as string
    const wrong = right.slice(0, at) + (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase()) + right.slice(at + 1)
    if (/[a-f]/.test(wrong) && /[A-F]/.test(wrong)) return `0x${wrong}`
  }
}

/** CRC16-XMODEM, TON's user-friendly address checksum. */
function crc16 (bytes: Uint8Array): number {
  let crc = 0
  for (const b of bytes) {
    crc ^= b << 8
    for (let i = 0; i < 8; i++) crc = (crc & 0x8000) !== 0 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

/** A non-bounceable basechain TON address (`UQ…`) whose CRC16 is deliberately wrong. */
function brokenTon (): string {
  const body = Buffer.concat([Buffer.from([0x51, 0x00]), randomBytes(32)])
  const crc = crc16(body) ^ 0xffff
  return Buffer.concat([body, Buffer.from([crc >> 8, crc & 0xff])]).toString('base64url')
}

/** 44 base58 characters decoding to 33 bytes: not a Solana key (32 bytes), which has no checksum to break. */
function brokenSolana (): string {
  return base58(Buffer.concat([Buffer.from([1]), randomBytes(32)]), BASE58)
}

/**
 * A fresh, random deposit address in the format of `network` (matching the formats
 * `src/upstream/address-formats.ts` checks) that **no wallet accepts**, so nobody can
 * send real funds to a simulated order: Base58Check with a wrong checksum for BTC
 * (`3…`), LTC (`M…`), DOGE (`D…`) and Tron (`T…`), and for XRP (`r…`, Ripple's
 * alphabet); a wrong EIP-55 casing for the EVM networks; a wrong CRC16 for TON
 * (`UQ…`); 33 bytes instead of a 32-byte key for Solana.
 */
export function depositAddress (network: string): string {
  switch (network) {
    case 'btc': return brokenBase58Check(0x05)
    case 'ltc': return brokenBase58Check(0x32)
    case 'doge': return brokenBase58Check(0x1e)
    case 'eth':
    case 'erc20':
    case 'bep20': return brokenEip55()
    case 'trc20':
    case 'trx': return brokenBase58Check(0x41)
    case 'sol': return brokenSolana()
    case 'xrp': return brokenBase58Check(0x00, RIPPLE58)
    case 'ton': return brokenTon()
    default: return brokenBase58Check(0x00)
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
