/**
 * The connection to Redis, and whether the shared stores may use it right now.
 *
 * Two ioredis clients: one for commands (keys namespaced with `keyPrefix`) and one in
 * subscriber mode for the fan-out channel. Both are made to fail fast rather than
 * wait: no offline queue (a command sent while disconnected is refused at once), one
 * retry per command, a command timeout, and reconnection with capped exponential
 * backoff forever in the background.
 *
 * The link is `up` or `down`:
 * - any failed command, or either connection closing, turns it `down`: the error is
 *   logged once per outage (never per call) and every store answers from its
 *   in-process fallback ({@link RedisLink.run}) without trying Redis again;
 * - when both connections are ready again (reconnection, or a probe every second for
 *   failures that did not close the socket, such as timeouts), the stores' rejoin
 *   hooks run — resubscribe, re-count quota, merge snapshots… — and only when all of
 *   them succeeded is the link `up` again.
 */
import { Redis, type RedisOptions } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'

/** Whether the shared stores use Redis (`up`) or their in-process fallbacks (`down`). */
export type RedisState = 'up' | 'down'

/** What `/readyz` and the metrics show. */
export interface RedisHealth {
  state: RedisState
  /** Epoch ms of the last change of state (or of the start). */
  since: number
  /** Outages since start (a failed first connection counts as one). */
  outages: number
  /** Operations answered by an in-process fallback since start, by store. */
  fallbacks: Readonly<Record<string, number>>
}

/** Options of {@link RedisLink}. */
export interface RedisLinkOptions {
  /** `redis://` or `rediss://` URL; credentials in it are used, never logged. */
  url: string
  /** Namespace of every key (e.g. `trackgate:`). */
  keyPrefix: string
  log: FastifyBaseLogger
  /** Longest wait for one reply. Default 1500 ms. */
  commandTimeoutMs?: number
  /** Longest wait for a connection. Default 3000 ms. */
  connectTimeoutMs?: number
  /** Spacing of rejoin attempts while down. Default 1000 ms. */
  probeIntervalMs?: number
  /** Cap of the reconnection backoff. Default 2000 ms. */
  reconnectMaxMs?: number
}

/** Work to redo when Redis is back (must be idempotent: it may run several times). */
export type RejoinHook = () => Promise<void>

/** The URL without credentials, for logs. */
export function describeRedisUrl (url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.hostname}:${u.port === '' ? '6379' : u.port}${u.pathname}`
  } catch {
    return 'redis'
  }
}

/** Closes a client politely when it can, at once otherwise. */
async function quit (redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit()
      return
    } catch {
      // fall through: cut it
    }
  }
  redis.disconnect()
}

/** See the module comment. */
export class RedisLink {
  /** Commands; keys are relative to {@link keyPrefix}. */
  readonly client: Redis
  /** Subscriber mode only (the fan-out channel). */
  readonly subscriber: Redis
  readonly keyPrefix: string
  readonly #log: FastifyBaseLogger
  readonly #probeIntervalMs: number
  readonly #where: string
  readonly #hooks: RejoinHook[] = []
  readonly #closers: Array<() => Promise<void>> = []
  readonly #fallbacks = new Map<string, number>()
  #state: RedisState = 'down'
  #since = Date.now()
  #outages = 0
  /** Bumped by every failure: a rejoin that saw one meanwhile does not claim `up`. */
  #epoch = 0
  /** The current outage was logged. */
  #announced = false
  #rejoining: Promise<void> | null = null
  #probe: NodeJS.Timeout | null = null
  #closed = false

  constructor (opts: RedisLinkOptions) {
    this.keyPrefix = opts.keyPrefix
    this.#log = opts.log
    this.#probeIntervalMs = opts.probeIntervalMs ?? 1000
    this.#where = describeRedisUrl(opts.url)
    const reconnectMaxMs = opts.reconnectMaxMs ?? 2000
    const common: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: opts.commandTimeoutMs ?? 1500,
      connectTimeout: opts.connectTimeoutMs ?? 3000,
      // Forever, 100 ms doubling to the cap, with jitter so instances do not reconnect in step.
      retryStrategy: (times) => Math.round(Math.min(reconnectMaxMs, 50 * 2 ** Math.min(times, 16)) * (0.75 + Math.random() / 4))
    }
    this.client = new Redis(opts.url, { ...common, keyPrefix: opts.keyPrefix, connectionName: 'trackgate' })
    this.subscriber = new Redis(opts.url, { ...common, connectionName: 'trackgate-bus' })
    for (const redis of [this.client, this.subscriber]) {
      // Without a listener an 'error' event would crash the process; the outage is logged once by markDown.
      redis.on('error', (err: unknown) => { this.#log.debug({ err }, 'redis connection error') })
      redis.on('close', () => { this.markDown(new Error(`connection to ${this.#where} closed`)) })
      redis.on('ready', () => { void this.#rejoin() })
    }
  }

  /** True while the shared stores use Redis. */
  get up (): boolean {
    return this.#state === 'up' && !this.#closed
  }

  health (): RedisHealth {
    return { state: this.up ? 'up' : 'down', since: this.#since, outages: this.#outages, fallbacks: Object.fromEntries(this.#fallbacks) }
  }

  /** Registers work to redo whenever Redis comes back (and on the first connection). */
  onRejoin (hook: RejoinHook): void {
    this.#hooks.push(hook)
  }

  /** Registers work to do on {@link close}, while the connection is still usable. */
  onClose (closer: () => Promise<void>): void {
    this.#closers.push(closer)
  }

  /**
   * Connects; resolves once connected and rejoined, or once the first attempt failed
   * (then the link stays `down` and keeps trying in the background). Never throws.
   */
  async start (): Promise<void> {
    this.#log.info({ redis: this.#where, keyPrefix: this.keyPrefix }, 'connecting to Redis')
    const connected = await Promise.all([this.client.connect(), this.subscriber.connect()]).then(() => true, (err: unknown) => {
      this.markDown(err)
      return false
    })
    if (connected) await this.#rejoin()
    if (!this.up) this.#startProbe()
  }

  /**
   * Runs `op` on Redis while the link is up; otherwise, or when `op` fails (the link
   * then turns down), answers with `fallback`.
   */
  async run<T> (store: string, op: (redis: Redis) => Promise<T>, fallback: () => T | Promise<T>): Promise<T> {
    if (this.up) {
      try {
        return await op(this.client)
      } catch (err) {
        this.markDown(err)
      }
    }
    this.#fallbacks.set(store, (this.#fallbacks.get(store) ?? 0) + 1)
    return await fallback()
  }

  /** Redis failed (`err`): use the fallbacks until it is back. Logged once per outage. */
  markDown (err: unknown): void {
    if (this.#closed) return
    this.#epoch++
    if (this.#state === 'up') {
      this.#state = 'down'
      this.#since = Date.now()
    }
    if (!this.#announced) {
      this.#announced = true
      this.#outages++
      this.#log.error({ err, redis: this.#where }, 'Redis is unavailable: serving with in-process stores and a share of the quota until it returns')
    }
    this.#startProbe()
  }

  /** Runs the closers, then closes both connections. */
  async close (): Promise<void> {
    if (this.#closed) return
    for (const closer of this.#closers) {
      try {
        await closer()
      } catch (err) {
        this.#log.warn({ err }, 'redis: cleanup on close failed')
      }
    }
    this.#closed = true
    this.#stopProbe()
    await Promise.all([quit(this.client), quit(this.subscriber)])
  }

  async #rejoin (): Promise<void> {
    if (this.#state === 'up' || this.#closed) return
    this.#rejoining ??= this.#tryRejoin().finally(() => { this.#rejoining = null })
    await this.#rejoining
  }

  async #tryRejoin (): Promise<void> {
    if (this.client.status !== 'ready' || this.subscriber.status !== 'ready') return
    const epoch = this.#epoch
    try {
      await this.client.ping()
      for (const hook of this.#hooks) await hook()
    } catch (err) {
      this.markDown(err)
      return
    }
    if (epoch !== this.#epoch || this.#closed || this.client.status !== 'ready' || this.subscriber.status !== 'ready') return
    const downForMs = Date.now() - this.#since
    this.#state = 'up'
    this.#since = Date.now()
    this.#stopProbe()
    if (this.#announced) this.#log.warn({ redis: this.#where, downForMs }, 'Redis is back: shared stores in use again')
    else this.#log.info({ redis: this.#where }, 'connected to Redis')
    this.#announced = false
  }

  #startProbe (): void {
    if (this.#probe !== null || this.#closed) return
    this.#probe = setInterval(() => { void this.#rejoin() }, this.#probeIntervalMs)
    this.#probe.unref()
  }

  #stopProbe (): void {
    if (this.#probe === null) return
    clearInterval(this.#probe)
    this.#probe = null
  }
}
