/**
 * Types of the trackgate browser client (`trackgate-client.js`).
 */

/** Lifecycle of a tracked order; `Gone` (deleted or retention over) can follow any other. */
export type TrackingStatus = 'WaitingForPayment' | 'Confirming' | 'WaitingForDelivery' | 'Done' | 'Gone'

/** Statuses after which nothing changes. */
export type FinalStatus = 'Done' | 'Gone'

/** The kind of a tracked order. */
export type OrderType = 'mixer' | 'exchange' | 'unknown'

/** Funding of the deposit; amounts are 8-decimal strings. */
export interface TrackedFunding {
  waiting_balance: string
  received_balance: string
  remaining_need: string
  is_fully_funded: boolean
  /** True once the deposit is confirmed and fully funded. */
  can_start: boolean
  [extra: string]: unknown
}

/** The deposit side of an order. */
export interface TrackedDeposit {
  /** 0 no payment seen, 1 seen but pending, 2 confirmed and funded. */
  confirm_status: number
  coin: string
  network: string
  /** When the order is deleted upstream (epoch seconds). */
  delete_at: number | null
  funding: TrackedFunding
  [extra: string]: unknown
}

/** One payout of an order. */
export interface TrackedOutput {
  /** 1-based position. */
  index: number
  /** Masked address, e.g. `35iM…EL`. */
  address: string
  /** Destination tag (XRP) or memo (TON), `null` when the network needs none. */
  destination_tag: string | number | null
  coin: string
  network: string
  /** Share of the amount, a number or a decimal string. */
  share_percent: number | string
  delay_label: string
  delay_seconds: number
  /** 0 waiting for the deposit, 1 scheduled, 2 sent. */
  state: number
  /** At state 2: 0 broadcast, 1 at least one confirmation. */
  confirm: number
  /** Transaction hash, `""` until sent. */
  tx: string
  /** 8-decimal amount string. */
  amount: string
  /** Planned send time (epoch seconds); `null` until the countdown starts. */
  send_at: number | null
  [extra: string]: unknown
}

/**
 * The payload of every `message` event and of `GET /orders/:trackcode`: the gateway's
 * `TrackedOrder` schema (`src/tracking/schemas.ts`), checked against these types by
 * `test/tracking/client-types.test.ts`.
 */
export interface TrackedOrder {
  trackcode: string
  /** `mixer` or `exchange` as upstream says; `unknown` when upstream names no known kind. */
  type: OrderType
  status: TrackingStatus
  /** Per-trackcode version, +1 on every real change (also the event id). */
  version: number
  /** When this version was detected (epoch seconds). */
  updated_at: number
  deposit: TrackedDeposit
  /** e.g. `INSUFFICIENT_FUNDS`; `null` when there is none. */
  status_reason: string | null
  outputs: TrackedOutput[]
  [extra: string]: unknown
}

/** Payload of the `stop` event: tracking is over. */
export interface TrackingStop {
  trackcode: string
  status: FinalStatus
  version: number
}

/** Payload of the `tracking` event: whether updates currently flow. */
export interface TrackingState {
  state: 'degraded' | 'live'
  /** e.g. `UPSTREAM_UNAVAILABLE`, `QUOTA_EXHAUSTED`; `null` when live. */
  reason?: string | null
  message?: string
  /** When the gateway checks upstream next, Unix epoch seconds (`OVERLOADED`: when the browser reconnects). */
  next_check_at?: number
}

/** Codes the client produces itself; others are the gateway's envelope codes (`NOT_FOUND`, …). */
export type TrackingErrorCode =
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'DISCONNECTED'
  | 'STREAM_REFUSED'
  | 'NETWORK_ERROR'
  | 'BAD_RESPONSE'
  | 'UNSUPPORTED'

/** Reported through `onError`. */
export declare class TrackingError extends Error {
  constructor (code: string, message: string, details?: { status?: number, fatal?: boolean, retryInMs?: number, cause?: unknown })
  /** A {@link TrackingErrorCode}, the gateway's envelope code, or `HTTP_<status>`. */
  readonly code: TrackingErrorCode | (string & {})
  /** HTTP status behind the error, when there was one. */
  readonly status: number | undefined
  /** True: tracking stopped for good. False: the client retries by itself after `retryInMs`. */
  fatal: boolean
  retryInMs: number | undefined
}

/** Reconnection backoff: `initialMs` doubling up to `maxMs`, each delay × (1 + jitter × random). */
export interface BackoffOptions {
  /** Default 1000. */
  initialMs?: number
  /** Default 30000. */
  maxMs?: number
  /** Extra random share of each delay, 0 disables; default 0.5. */
  jitter?: number
}

/** The subset of the `EventSource` interface the client uses. */
export interface EventSourceLike {
  readonly readyState: number
  addEventListener (type: string, listener: (event: MessageEvent<string> & { code?: number }) => void): void
  close (): void
}

/** Timer functions (injectable for tests and non-browser runtimes). */
export interface TimerFunctions {
  setTimeout (callback: () => void, ms: number): unknown
  clearTimeout (handle: unknown): void
}

export interface TrackOptions {
  /** A newer valid snapshot of the order. */
  onUpdate: (order: TrackedOrder) => void
  /** Tracking ended (order `Done` or `Gone`); `order` is the last snapshot seen, if any. */
  onStop?: (stop: TrackingStop, order: TrackedOrder | null) => void
  /** A problem: `fatal` → tracking stopped; otherwise the client retries by itself. */
  onError?: (error: TrackingError) => void
  /** The gateway's tracking is degraded (updates delayed) or live again. */
  onTracking?: (state: TrackingState) => void
  /** Gateway origin (and path prefix), e.g. `https://gw.example.com`; default: same origin. */
  baseUrl?: string
  /** EventSource constructor; default `globalThis.EventSource`. `null` forces polling. */
  EventSource?: (new (url: string) => EventSourceLike) | null
  /** fetch implementation; default `globalThis.fetch`. */
  fetch?: (input: string, init?: RequestInit) => Promise<Response>
  backoff?: BackoffOptions
  /** Poll `GET /orders/:trackcode` when EventSource is unavailable; default `true`. */
  pollFallback?: boolean
  /** Default: the global timers. */
  timers?: TimerFunctions
}

/** Every status, in lifecycle order. */
export declare const TRACKING_STATUSES: readonly TrackingStatus[]
/** `Done` and `Gone`. */
export declare const FINAL_STATUSES: readonly FinalStatus[]
/** `{ initialMs: 1000, maxMs: 30000, jitter: 0.5 }`. */
export declare const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>>

/** True when `value` is a well-formed TrackedOrder (of `trackcode`, when given). */
export declare function isTrackedOrder (value: unknown, trackcode?: string): value is TrackedOrder

/**
 * Follows one order live over Server-Sent Events (or polling where EventSource is
 * missing). Returns `unsubscribe()`, which stops everything; no callback runs after it.
 */
export declare function trackOrder (trackcode: string, options: TrackOptions): () => void
