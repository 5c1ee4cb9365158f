/**
 * `SECRETCRYPTOS_PARTNER_KEY`: injected as `partner` into create-order bodies that carry
 * none (absent or ""), so the operator earns the partner share of the service fee. A
 * body naming its own partner keeps it.
 */

/** `body` with the configured partner key when it names no partner itself. */
export function withPartner<B extends { partner?: string }> (body: B, partnerKey: string | undefined): B {
  if (partnerKey === undefined || partnerKey === '') return body
  if (body.partner !== undefined && body.partner !== '') return body
  return { ...body, partner: partnerKey }
}
