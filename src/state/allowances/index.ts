/**
 * The allowances port: how many upstream calls each caller (`callerId`: `token:<name>`
 * or `ip:<network>`) caused in the rolling 24 h window, so that no one client can spend
 * the shared quota. A caller's call is taken *before* its quota slot (the upstream
 * client, `src/upstream/client.ts`); refused, the request costs nothing upstream.
 */

export type AllowanceDecision =
  | { granted: true }
  | { granted: false, /** Epoch ms from which the caller may cause a call again. */ retryAt: number }

/** Per-caller rolling allowances. */
export interface AllowanceStore {
  /** Counts one call of `callerId` if it made fewer than `limit` in the window. */
  take (callerId: string, limit: number): Promise<AllowanceDecision>
  /** Calls `callerId` made in the window. */
  used (callerId: string): Promise<number>
}
