/**
 * Fault injection: the next `count` requests (optionally only those of one route) fail
 * in a chosen way instead of being answered normally.
 *
 * | mode        | effect                                                                   |
 * |-------------|--------------------------------------------------------------------------|
 * | `status500` | 500 `{ok:false,code:"SERVER_ERROR"}`                                     |
 * | `status503` | 503 `{ok:false,code:"SERVICE_UNAVAILABLE"}`                              |
 * | `too_many`  | 429 `{ok:false,code:"TOO_MANY_REQUESTS"}` (no quota used)                |
 * | `html`      | 502 with an HTML error page (`text/html`), as a proxy in front would send |
 * | `badjson`   | 200 `application/json` whose body is not JSON (a PHP warning before it)  |
 * | `truncated` | 200 headers announcing a longer body, part of a JSON body, socket destroyed |
 * | `reset`     | socket destroyed without an answer                                       |
 * | `hang`      | never answered (the socket is closed when the simulator closes)          |
 * | `slow`      | the real answer, its body trickled in 8 chunks `delayMs` apart (default 200) |
 *
 * `delayMs` delays every other mode's answer by that long. Faults fire before
 * authentication, so they use no quota (except `slow`, which is a real answer).
 */
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyReply } from 'fastify'

/** Ways a request can fail. */
export type FaultMode = 'status500' | 'status503' | 'reset' | 'hang' | 'html' | 'truncated' | 'slow' | 'badjson' | 'too_many'

/** All fault modes. */
export const FAULT_MODES: readonly FaultMode[] = Object.freeze(['status500', 'status503', 'reset', 'hang', 'html', 'truncated', 'slow', 'badjson', 'too_many'])

/** A fault to inject. */
export interface FaultSpec {
  mode: FaultMode
  /** How many matching requests fail. Default 1. */
  count?: number
  /** Only requests of this route: `"POST /v1/orders/check"` or just `"/v1/orders/check"`. Default: any. */
  route?: string
  /** Delay before the fault (per chunk for `slow`), ms of real time. */
  delayMs?: number
}

interface PendingFault {
  mode: FaultMode
  left: number
  route: string | undefined
  delayMs: number | undefined
}

const SLOW_CHUNKS = 8
const DEFAULT_SLOW_DELAY_MS = 200
const TRUNCATED_BODY = '{"ok":true,"type":"mixer","trackcode":"6A5FB3BA8A150EC9","deposit":{"confirm_status":2,"coin":"btc","netw'
const BAD_JSON_BODY = 'PHP Warning:  Undefined array key "trackcode" in /var/www/api/v1/index.php on line 212\n{"ok":true}'
const HTML_BODY = '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n'

/** Pending faults, consumed first-in first-out. */
export class FaultQueue {
  #pending: PendingFault[] = []

  add (spec: FaultSpec): void {
    if (!FAULT_MODES.includes(spec.mode)) throw new TypeError(`unknown fault mode: ${String(spec.mode)}`)
    const count = spec.count ?? 1
    if (!Number.isInteger(count) || count < 1) throw new TypeError('count must be a positive integer')
    if (spec.delayMs !== undefined && (!Number.isFinite(spec.delayMs) || spec.delayMs < 0)) throw new TypeError('delayMs must be a non-negative number')
    this.#pending.push({ mode: spec.mode, left: count, route: spec.route, delayMs: spec.delayMs })
  }

  clear (): void {
    this.#pending = []
  }

  /** Faults still to fire. */
  pending (): FaultSpec[] {
    return this.#pending.map((f) => ({
      mode: f.mode,
      count: f.left,
      ...(f.route === undefined ? {} : { route: f.route }),
      ...(f.delayMs === undefined ? {} : { delayMs: f.delayMs })
    }))
  }

  /** Consumes and returns the first fault matching a request, if any. */
  take (method: string, path: string): FaultSpec | undefined {
    const i = this.#pending.findIndex((f) => f.route === undefined || f.route === path || f.route === `${method} ${path}`)
    if (i === -1) return undefined
    const f = this.#pending[i] as PendingFault
    if (--f.left === 0) this.#pending.splice(i, 1)
    return { mode: f.mode, route: f.route, delayMs: f.delayMs }
  }
}

function envelope (code: string, message: string): string {
  return JSON.stringify({ ok: false, code, message })
}

/**
 * Carries out a fault that replaces the answer (every mode but `slow`). Returns the
 * outcome to record in the stats: the status sent, or the mode when none was.
 */
export async function applyFault (reply: FastifyReply, fault: FaultSpec): Promise<number | string> {
  if (fault.delayMs !== undefined && fault.delayMs > 0) await sleep(fault.delayMs)
  const json = 'application/json; charset=utf-8'
  switch (fault.mode) {
    case 'status500':
      await reply.code(500).type(json).send(envelope('SERVER_ERROR', 'Internal server error'))
      return 500
    case 'status503':
      await reply.code(503).type(json).send(envelope('SERVICE_UNAVAILABLE', 'Service temporarily unavailable'))
      return 503
    case 'too_many':
      await reply.code(429).type(json).send(envelope('TOO_MANY_REQUESTS', 'Daily request limit reached'))
      return 429
    case 'html':
      await reply.code(502).type('text/html; charset=utf-8').send(HTML_BODY)
      return 502
    case 'badjson':
      await reply.code(200).type(json).send(BAD_JSON_BODY)
      return 200
    case 'reset':
      reply.hijack()
      reply.raw.destroy()
      return 'reset'
    case 'hang':
      reply.hijack()
      return 'hang'
    case 'truncated': {
      reply.hijack()
      const res = reply.raw
      res.writeHead(200, { 'content-type': json, 'content-length': String(Buffer.byteLength(TRUNCATED_BODY) * 2) })
      res.write(TRUNCATED_BODY, () => res.destroy())
      return 'truncated'
    }
    default:
      return 'slow'
  }
}

/** Turns a serialized answer into a stream that trickles it out in chunks. */
export function trickle (payload: string | Buffer, delayMs = DEFAULT_SLOW_DELAY_MS): Readable {
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload)
  const size = Math.max(1, Math.ceil(buf.length / SLOW_CHUNKS))
  async function * chunks (): AsyncGenerator<Buffer> {
    for (let at = 0; at < buf.length; at += size) {
      if (at > 0) await sleep(delayMs)
      yield buf.subarray(at, at + size)
    }
  }
  return Readable.from(chunks(), { objectMode: false })
}
