/**
 * Fan-out across instances: one pub/sub channel per cluster (`<prefix>bus`).
 *
 * A message is delivered to this instance's own listeners at once (in process, as
 * {@link MemoryBus} does) and published once on the channel, tagged with this
 * instance's id; every instance delivers what it receives to its own listeners, except
 * its own messages, which it already delivered — so each subscriber gets each version
 * exactly once, wherever the poller runs. Messages carry the serialized frames, so an
 * event is serialized once in the whole cluster.
 *
 * One channel for the cluster (rather than one per trackcode) keeps subscriptions
 * static: nothing is lost while a per-trackcode SUBSCRIBE is in flight, and a
 * reconnection resubscribes one channel. Every instance reads every message; at the
 * rate orders change (about once a minute each) that is cheap.
 *
 * During a Redis outage publishing is local only (each instance then polls its own
 * trackcodes); ioredis resubscribes on reconnection and the rejoin hook makes sure of it.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { type BusListener, type BusMessage, type SnapshotMessage, type TrackingBus } from './index.js'
import { MemoryBus } from './memory.js'
import type { RedisLink } from '../redis/link.js'

/** Options of {@link RedisBus}. */
export interface RedisBusOptions {
  link: RedisLink
  /** The cluster's channel (prefix included). */
  channel: string
  log: FastifyBaseLogger
  /** Told about every version another instance published (e.g. to mirror it). */
  onRemoteSnapshot?: (message: SnapshotMessage) => void
}

/** What travels on the channel. */
interface Envelope {
  /** Id of the publishing instance. */
  origin: string
  message: BusMessage
}

const isString = (v: unknown): v is string => typeof v === 'string'

/** A message from the channel, checked field by field (never trusted blindly). */
function parseEnvelope (payload: string): Envelope | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(payload)
  } catch {
    return undefined
  }
  const { origin, message } = (parsed ?? {}) as Partial<Envelope>
  if (!isString(origin) || typeof message !== 'object' || message === null) return undefined
  const m = message as unknown as Record<string, unknown>
  if (!isString(m.trackcode) || !isString(m.frame)) return undefined
  if (m.kind === 'snapshot') {
    const ok = typeof m.version === 'number' && isString(m.status) && isString(m.json) && (m.stopFrame === undefined || isString(m.stopFrame))
    return ok ? { origin, message } : undefined
  }
  if (m.kind === 'tracking') return typeof m.state === 'object' && m.state !== null ? { origin, message } : undefined
  return undefined
}

/** See the module comment. */
export class RedisBus implements TrackingBus {
  readonly #link: RedisLink
  readonly #channel: string
  readonly #log: FastifyBaseLogger
  readonly #onRemoteSnapshot: ((message: SnapshotMessage) => void) | undefined
  readonly #local = new MemoryBus()
  readonly #origin = randomUUID()

  constructor (opts: RedisBusOptions) {
    this.#link = opts.link
    this.#channel = opts.channel
    this.#log = opts.log
    this.#onRemoteSnapshot = opts.onRemoteSnapshot
    this.#link.subscriber.on('message', (channel: string, payload: string) => {
      if (channel === this.#channel) this.#receive(payload)
    })
    const subscribe = async (): Promise<void> => { await this.#link.subscriber.subscribe(this.#channel) }
    this.#link.onRejoin(subscribe)
    // Created on a link already up (the rejoin hook ran before): subscribe now.
    if (this.#link.up) subscribe().catch((err: unknown) => { this.#link.markDown(err) })
  }

  async publish (message: BusMessage): Promise<void> {
    await this.#local.publish(message)
    const payload = JSON.stringify({ origin: this.#origin, message } satisfies Envelope)
    await this.#link.run('bus', async (redis) => { await redis.publish(this.#channel, payload) }, () => {})
  }

  subscribe (trackcode: string, listener: BusListener): () => void {
    return this.#local.subscribe(trackcode, listener)
  }

  #receive (payload: string): void {
    const envelope = parseEnvelope(payload)
    if (envelope === undefined) {
      this.#log.warn('redis bus: ignored a malformed message')
      return
    }
    if (envelope.origin === this.#origin) return
    const { message } = envelope
    const failed = (err: unknown): void => { this.#log.error({ err, trackcode: message.trackcode }, 'redis bus: delivering a message failed') }
    try {
      if (message.kind === 'snapshot') this.#onRemoteSnapshot?.(message)
    } catch (err) {
      failed(err)
    }
    this.#local.publish(message).catch(failed)
  }
}
