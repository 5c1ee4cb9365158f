/**
 * Destination addresses and tags against their network.
 */
import { badRequest } from '../../errors.js'
import { matchesNetwork } from '../address-formats.js'

const XRP_TAG_MAX = 4294967295n

/**
 * Throws 400 BAD_REQUEST when `address` does not have the format of `network`.
 * Networks without a known format are left to upstream.
 */
export function checkAddress (network: string, address: string, field: string): void {
  if (matchesNetwork(network, address) === false) {
    throw badRequest(`${field} is not a valid ${network.toLowerCase()} address`)
  }
}

/**
 * An XRP destination tag is a 32-bit unsigned integer (the ledger's `DestinationTag`).
 * Other networks' tags and memos are bounded by the schema and left to upstream.
 */
export function checkDestinationTag (network: string, tag: unknown, field: string): void {
  if (network.toLowerCase() !== 'xrp' || tag === undefined || tag === '') return
  const text = typeof tag === 'number' ? String(tag) : tag
  if (typeof text !== 'string' || !/^\d{1,10}$/.test(text) || BigInt(text) > XRP_TAG_MAX) {
    throw badRequest(`${field} must be an XRP destination tag: an integer from 0 to 4294967295`)
  }
}
