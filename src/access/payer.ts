/**
 * Who pays for an upstream call a request causes: its caller, out of a daily
 * allowance — a gateway token's own (`daily_allowance`, default
 * `TOKEN_DAILY_ALLOWANCE`), or `ANON_DAILY_ALLOWANCE` for an anonymous client (an IPv4
 * address, an IPv6 /64). Routes hand the payer to `app.upstream.request` (or to the
 * cache and the tracking hub, which pass it on only when a call is made).
 */
import type { Config } from '../config.js'
import type { Payer } from '../upstream/client.js'
import { callerId, type Caller } from './caller.js'

/** The payer of `caller`'s upstream calls. */
export function payerOf (caller: Caller, config: Pick<Config, 'anonDailyAllowance'>): Payer {
  return { id: callerId(caller), limit: caller.kind === 'token' ? caller.allowance : config.anonDailyAllowance }
}
