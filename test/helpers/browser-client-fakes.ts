/**
 * Test doubles for the browser client: an EventSource driven by hand, timers that only
 * move when told to, and a scripted fetch.
 */
import type { EventSourceLike, TimerFunctions, TrackedOrder } from '../../web/client/trackgate-client.js'

type Listener = (event: MessageEvent<string> & { code?: number }) => void

/** An EventSource whose events the test fires. */
export class FakeEventSource implements EventSourceLike {
  readyState = 0
  closed = false
  readonly url: string
  readonly #listeners = new Map<string, Listener[]>()

  constructor (url: string) {
    this.url = url
  }

  addEventListener (type: string, listener: Listener): void {
    const list = this.#listeners.get(type) ?? []
    list.push(listener)
    this.#listeners.set(type, list)
  }

  close (): void {
    this.closed = true
    this.readyState = 2
  }

  emit (type: string, init: { data?: string, code?: number } = {}): void {
    const event = { type, data: init.data ?? '', code: init.code } as unknown as MessageEvent<string> & { code?: number }
    for (const listener of this.#listeners.get(type) ?? []) listener(event)
  }

  open (): void {
    this.readyState = 1
    this.emit('open')
  }

  message (payload: unknown, type = 'message'): void {
    this.emit(type, { data: typeof payload === 'string' ? payload : JSON.stringify(payload) })
  }

  /** A dropped connection the browser would retry (readyState CONNECTING). */
  drop (): void {
    this.readyState = 0
    this.emit('error')
  }

  /** A refused connection (non-200): readyState CLOSED, never opened. */
  refuse (code?: number): void {
    this.readyState = 2
    this.emit('error', code === undefined ? {} : { code })
  }
}

/** A fresh EventSource constructor recording its instances. */
export function fakeEventSources (): { EventSource: new (url: string) => FakeEventSource, instances: FakeEventSource[], last: () => FakeEventSource } {
  const instances: FakeEventSource[] = []
  class Recorded extends FakeEventSource {
    constructor (url: string) {
      super(url)
      instances.push(this)
    }
  }
  return {
    EventSource: Recorded,
    instances,
    last: () => {
      const es = instances.at(-1)
      if (es === undefined) throw new Error('no EventSource was created')
      return es
    }
  }
}

interface FakeTimer {
  at: number
  delay: number
  run: () => void
}

/** setTimeout/clearTimeout on a virtual clock moved by `advance()`. */
export class FakeTimers implements TimerFunctions {
  now = 0
  #seq = 0
  readonly #timers = new Map<number, FakeTimer>()

  setTimeout = (run: () => void, ms: number): number => {
    const id = ++this.#seq
    this.#timers.set(id, { at: this.now + ms, delay: ms, run })
    return id
  }

  clearTimeout = (id: unknown): void => {
    this.#timers.delete(id as number)
  }

  /** Delays of the pending timers, in creation order. */
  pending (): number[] {
    return [...this.#timers.values()].map((t) => t.delay)
  }

  /** Moves the clock, running every timer that falls due, in time order. */
  advance (ms: number): void {
    const target = this.now + ms
    for (;;) {
      let next: [number, FakeTimer] | undefined
      for (const entry of this.#timers) if (entry[1].at <= target && (next === undefined || entry[1].at < next[1].at)) next = entry
      if (next === undefined) break
      this.#timers.delete(next[0])
      this.now = next[1].at
      next[1].run()
    }
    this.now = target
  }
}

/** One scripted answer: a Response, or an error to throw (network failure). */
export type FetchAnswer = Response | Error | (() => Promise<Response>)

/** A fetch answering from a script and recording each call. */
export function scriptedFetch (answers: FetchAnswer[]): { fetch: (input: string, init?: RequestInit) => Promise<Response>, calls: Array<{ url: string, init: RequestInit | undefined }> } {
  const calls: Array<{ url: string, init: RequestInit | undefined }> = []
  return {
    calls,
    fetch: async (url, init) => {
      calls.push({ url, init })
      const answer = answers.shift()
      if (answer === undefined) throw new Error(`unexpected fetch of ${url}`)
      if (answer instanceof Error) throw answer
      if (typeof answer === 'function') return await answer()
      return answer
    }
  }
}

/** A JSON response. */
export function json (status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
}

export const TRACKCODE = '6A5FB3BA8A150EC9'

/** A valid TrackedOrder (the contract's example), with overrides. */
export function trackedOrder (overrides: Partial<TrackedOrder> = {}): TrackedOrder {
  return {
    trackcode: TRACKCODE,
    type: 'mixer',
    status: 'WaitingForDelivery',
    version: 3,
    updated_at: 1755441793,
    deposit: {
      confirm_status: 2,
      coin: 'btc',
      network: 'btc',
      delete_at: 1755609605,
      funding: { waiting_balance: '10.00000000', received_balance: '10.00000000', remaining_need: '0.00000000', is_fully_funded: true, can_start: true }
    },
    status_reason: null,
    outputs: [{
      index: 1,
      address: '35iM…EL',
      destination_tag: null,
      coin: 'btc',
      network: 'btc',
      share_percent: 84.93,
      delay_label: '0h 0m',
      delay_seconds: 0,
      state: 2,
      confirm: 1,
      tx: '135f451af7f894fafb578eee9e9c4',
      amount: '8.45469657',
      send_at: 1755441793
    }],
    ...overrides
  }
}

/** Lets pending promise callbacks (fetch, body reads) run. */
export async function settle (): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
}
