/**
 * The simulator's deposit addresses match the gateway's address formats, yet no wallet
 * accepts them: each network's checksum, computed here independently, fails.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { depositAddress } from '../../src/simulator/addresses.js'
import { keccak256 } from '../../src/simulator/keccak.js'
import { ADDRESS_FORMATS } from '../../src/upstream/address-formats.js'
import { COINS } from '../../src/simulator/catalog.js'

const BITCOIN58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
const RIPPLE58 = 'rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz'

function decode58 (text: string, alphabet: string): Buffer {
  let n = 0n
  for (const ch of text) {
    const digit = alphabet.indexOf(ch)
    if (digit < 0) throw new Error(`not base58: ${ch}`)
    n = n * 58n + BigInt(digit)
  }
  let hex = n.toString(16)
  if (hex.length % 2 === 1) hex = `0${hex}`
  let zeros = 0
  while (text[zeros] === alphabet[0]) zeros++
  return Buffer.concat([Buffer.alloc(zeros), n === 0n ? Buffer.alloc(0) : Buffer.from(hex, 'hex')])
}

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest()

/** Base58Check: the last 4 bytes must be the double SHA-256 of the rest. */
function base58CheckValid (address: string, alphabet: string): { valid: boolean, length: number, version: number } {
  const raw = decode58(address, alphabet)
  const payload = raw.subarray(0, -4)
  return { valid: sha256(sha256(payload)).subarray(0, 4).equals(raw.subarray(-4)), length: raw.length, version: raw[0] as number }
}

/** EIP-55: each letter upper-case exactly when its nibble of keccak256(lower-case hex) is ≥ 8. */
function eip55Valid (address: string): boolean {
  const hex = address.slice(2)
  const hash = keccak256(Buffer.from(hex.toLowerCase(), 'ascii')).toString('hex')
  return [...hex].every((ch, i) => !/[a-fA-F]/.test(ch) || (parseInt(hash[i] as string, 16) >= 8) === (ch === ch.toUpperCase()))
}

function crc16 (bytes: Uint8Array): number {
  let crc = 0
  for (const b of bytes) {
    crc ^= b << 8
    for (let i = 0; i < 8; i++) crc = (crc & 0x8000) !== 0 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

t.test('the test\'s own checksums accept real addresses', async (t) => {
  t.ok(base58CheckValid('35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', BITCOIN58).valid, 'a real BTC address')
  t.ok(base58CheckValid('TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE', BITCOIN58).valid, 'a real Tron address')
  t.ok(base58CheckValid('rLWyHZwAhsVrHCu8ahsfQfb9w9w7A5WTrS', RIPPLE58).valid, 'a real XRP address')
  t.equal(keccak256(Buffer.alloc(0)).toString('hex'), 'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470', 'keccak256 of nothing')
  t.ok(eip55Valid('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'), 'the EIP-55 test vector')
  t.notOk(eip55Valid('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD'), 'and one letter off')
  const ton = Buffer.from('UQDTQmCrngsFMbgBhWNX_Sg6Ko3sXUcdeliM5OoZO2Pt4NJx', 'base64url')
  t.equal(crc16(ton.subarray(0, 34)), ton.readUInt16BE(34), 'a real TON address')
})

const networks = [...new Set(COINS.flatMap((coin) => Object.keys(coin.networks)))]

t.test('every network the simulator serves: the address format matches, the checksum fails', async (t) => {
  t.ok(networks.length >= 8, `networks: ${networks.join(', ')}`)
  for (const network of networks) {
    for (let i = 0; i < 20; i++) {
      const address = depositAddress(network)
      const format = ADDRESS_FORMATS[network]
      t.ok(format?.test(address), `${network}: ${address} matches the gateway's format`)
      switch (network) {
        case 'btc': case 'ltc': case 'doge': case 'trx': case 'trc20': {
          const check = base58CheckValid(address, BITCOIN58)
          t.equal(check.length, 25, `${network}: version, 20-byte hash, checksum`)
          t.notOk(check.valid, `${network}: ${address} fails Base58Check`)
          break
        }
        case 'xrp': {
          const check = base58CheckValid(address, RIPPLE58)
          t.equal(check.version, 0)
          t.notOk(check.valid, `xrp: ${address} fails Base58Check`)
          break
        }
        case 'eth': case 'erc20': case 'bep20':
          t.ok(/[a-f]/.test(address.slice(2)) && /[A-F]/.test(address.slice(2)), `${network}: mixed case, so wallets check it`)
          t.notOk(eip55Valid(address), `${network}: ${address} fails EIP-55`)
          break
        case 'ton': {
          const raw = Buffer.from(address, 'base64url')
          t.equal(raw.length, 36)
          t.not(crc16(raw.subarray(0, 34)), raw.readUInt16BE(34), `ton: ${address} fails its CRC16`)
          break
        }
        case 'sol':
          t.not(decode58(address, BITCOIN58).length, 32, `sol: ${address} is not a 32-byte key`)
          break
        default:
          t.fail(`no checksum test for ${network}`)
      }
    }
  }
})
