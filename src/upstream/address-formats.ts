/**
 * Address formats per network, as SecretCryptos checks them ("address format must match
 * the network: BTC legacy/SegWit, ERC-20 0x…, TRC-20 T…, SOL, …").
 *
 * Shared by the gateway's validation (so a malformed address costs no quota) and by the
 * built-in simulator (so it rejects what upstream rejects). A network missing from this
 * table is not checked by the gateway: upstream stays the judge for it.
 */
const BASE58 = '[1-9A-HJ-NP-Za-km-z]'

export const ADDRESS_FORMATS: Readonly<Record<string, RegExp>> = Object.freeze({
  btc: new RegExp(`^(?:[13]${BASE58}{25,34}|bc1[02-9ac-hj-np-z]{11,71}|BC1[02-9AC-HJ-NP-Z]{11,71})$`),
  ltc: new RegExp(`^(?:[LM3]${BASE58}{26,33}|ltc1[02-9ac-hj-np-z]{11,71})$`),
  doge: new RegExp(`^[DA9]${BASE58}{25,34}$`),
  eth: /^0x[0-9a-fA-F]{40}$/,
  erc20: /^0x[0-9a-fA-F]{40}$/,
  bep20: /^0x[0-9a-fA-F]{40}$/,
  trc20: new RegExp(`^T${BASE58}{33}$`),
  trx: new RegExp(`^T${BASE58}{33}$`),
  sol: new RegExp(`^${BASE58}{32,44}$`),
  xrp: /^r[1-9A-HJ-NP-Za-km-z]{24,34}$/,
  ton: /^(?:(?:EQ|UQ|kQ|0Q)[A-Za-z0-9_+/-]{46}|-?[0-9]+:[0-9a-fA-F]{64})$/
})

/**
 * Checks `address` against the format of `network`.
 * Returns `true` when it matches, `false` when it does not, and `undefined` when the
 * network has no known format (the caller then leaves the decision to upstream).
 */
export function matchesNetwork (network: string, address: string): boolean | undefined {
  const re = ADDRESS_FORMATS[network.toLowerCase()]
  return re === undefined ? undefined : re.test(address)
}
