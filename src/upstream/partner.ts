/**
 * `SECRETCRYPTOS_PARTNER_KEY`: when configured, it is the `partner` of every order
 * created through the gateway, whatever the body says, so the operator's partner share
 * of the service fee cannot be redirected by a client naming its own key. Without a
 * configured key the body's `partner` (if any) passes as sent.
 */

/** `body` with the configured partner key as its `partner`, when one is configured. */
export function withPartner<B extends { partner?: string }> (body: B, partnerKey: string | undefined): B {
  if (partnerKey === undefined || partnerKey === '') return body
  return { ...body, partner: partnerKey }
}
