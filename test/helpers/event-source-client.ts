/**
 * A recording EventSource client (the `eventsource` npm client, which behaves like a
 * browser's): the ids, statuses and snapshots it saw and when, its stop event, opens and errors.
 */
import type { Test } from 'tap'
import { EventSource } from 'eventsource'

/** What one EventSource client saw. */
export interface Client {
  code: string
  instance: number
  ids: string[]
  statuses: string[]
  /** Each snapshot as received (parsed `data`), in order. */
  snapshots: unknown[]
  /** When each snapshot arrived, epoch ms. */
  times: number[]
  stop: unknown
  opens: number
  errors: number
  es: EventSource
}

/** Opens an EventSource on `url` for `code`; closed when `t` ends. */
export function subscribe (t: Test, url: string, code: string, instance: number): Client {
  const es = new EventSource(`${url}/orders/${code}/subscribe`)
  const client: Client = { code, instance, ids: [], statuses: [], snapshots: [], times: [], stop: undefined, opens: 0, errors: 0, es }
  es.addEventListener('open', () => { client.opens++ })
  es.addEventListener('error', () => { client.errors++ })
  es.addEventListener('message', (e) => {
    const snapshot = JSON.parse(e.data) as { status: string }
    client.times.push(Date.now())
    client.ids.push(e.lastEventId)
    client.statuses.push(snapshot.status)
    client.snapshots.push(snapshot)
  })
  es.addEventListener('stop', (e) => {
    client.stop = JSON.parse(e.data)
    es.close()
  })
  t.teardown(() => { es.close() })
  return client
}
