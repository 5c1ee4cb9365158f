/**
 * Forwards an upstream answer unchanged: its status code and its bytes.
 *
 * A Buffer payload bypasses Fastify's serializer, so the routes' response schemas only
 * document the shapes: unknown fields survive, numbers stay numbers and numeric strings
 * stay strings (upstream mixes both; see the contract's quirks list).
 */
import type { UpstreamResult } from './client.js'

/**
 * The part of a Fastify reply the forwarding needs. `send` is typed `never` because a
 * typed route's `reply.send` only admits its documented JSON shapes, while a Buffer,
 * which it takes at run time, is exactly what must be sent here.
 */
export interface ForwardingReply {
  code (statusCode: number): unknown
  header (name: string, value: string): unknown
  type (contentType: string): unknown
  send (payload: never): unknown
}

/** Sends `result` as upstream sent it, with upstream's `Retry-After` when there was one. */
export function forward<R extends ForwardingReply> (reply: R, result: UpstreamResult): R {
  if (result.retryAfter !== undefined) reply.header('retry-after', result.retryAfter)
  reply.code(result.statusCode)
  reply.type('application/json; charset=utf-8')
  reply.send(result.raw as never)
  return reply
}

/** True for 2xx answers (the only ones worth caching). */
export function isSuccess (result: UpstreamResult): boolean {
  return result.statusCode >= 200 && result.statusCode < 300
}
