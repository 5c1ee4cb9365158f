/**
 * A raw Server-Sent Events reader over node:http, to see exactly what is on the wire:
 * every block parsed in order, how the response ended, and event matchers.
 */
import http from 'node:http'

/** One parsed Server-Sent Events block. */
export interface SseEvent {
  /** `message` unless an `event:` line said otherwise; `comment` for `:` lines; `retry` for a lone retry hint. */
  event: string
  id?: string
  data?: string
  retry?: number
  comment?: string
}

/** A raw stream reader (node:http), to see exactly what is on the wire. */
export interface RawStream {
  status: number
  headers: http.IncomingHttpHeaders
  /** Every block received so far, in order. */
  events: SseEvent[]
  /** Raw text received so far. */
  text: () => string
  /** True once the server ended the response (or the connection went). */
  ended: () => boolean
  /** True once the response ended normally (complete body), not cut. */
  endedCleanly: () => boolean
  /** True once the connection itself is closed. */
  socketClosed: () => boolean
  /** Waits for an event matching `match` at index ≥ `from`; returns it. */
  next: (match: (e: SseEvent) => boolean, from?: number) => Promise<SseEvent>
  close: () => void
}

function parseBlock (block: string): SseEvent | undefined {
  const out: SseEvent = { event: 'message' }
  let any = false
  for (const line of block.split('\n')) {
    if (line === '') continue
    any = true
    if (line.startsWith(':')) {
      out.event = 'comment'
      out.comment = line.slice(1).trim()
      continue
    }
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event') out.event = value
    else if (field === 'id') out.id = value
    else if (field === 'data') out.data = out.data === undefined ? value : `${out.data}\n${value}`
    else if (field === 'retry') out.retry = Number(value)
  }
  if (!any) return undefined
  if (out.event === 'message' && out.data === undefined && out.retry !== undefined) out.event = 'retry'
  return out
}

/** Opens `url` as a raw event stream; resolves once the response head arrived. */
export async function openRaw (url: string, headers: Record<string, string> = {}): Promise<RawStream> {
  return await new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      res.setEncoding('utf8')
      let text = ''
      let buffer = ''
      let ended = false
      let clean = false
      let socketClosed = false
      res.socket.once('close', () => { socketClosed = true })
      const events: SseEvent[] = []
      const waiters = new Set<() => void>()
      res.on('data', (chunk: string) => {
        text += chunk
        buffer += chunk
        let at
        while ((at = buffer.indexOf('\n\n')) !== -1) {
          const e = parseBlock(buffer.slice(0, at))
          buffer = buffer.slice(at + 2)
          if (e !== undefined) events.push(e)
        }
        for (const w of [...waiters]) w()
      })
      const finish = (): void => {
        ended = true
        for (const w of [...waiters]) w()
      }
      res.on('end', () => {
        clean = true
        finish()
      })
      res.on('close', finish)
      res.on('error', finish)
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        text: () => text,
        ended: () => ended,
        endedCleanly: () => clean,
        socketClosed: () => socketClosed,
        next: async (match, from = 0) => await new Promise<SseEvent>((resolve, reject) => {
          const timer = setTimeout(() => {
            waiters.delete(look)
            reject(new Error(`timed out waiting for an event; got ${JSON.stringify(events)}`))
          }, 15_000)
          function look (): void {
            const found = events.slice(from).find(match)
            if (found !== undefined || ended) {
              clearTimeout(timer)
              waiters.delete(look)
              if (found !== undefined) resolve(found)
              else reject(new Error(`stream ended without the event; got ${JSON.stringify(events)}`))
            }
          }
          waiters.add(look)
          look()
        }),
        close: () => { req.destroy() }
      })
    })
    req.on('error', reject)
  })
}

/** The parsed `data` of a snapshot event. */

export function order (e: SseEvent): any {
  return JSON.parse(e.data ?? 'null')
}

/** Event matchers. */
export const isSnapshot = (e: SseEvent): boolean => e.event === 'message'
export const isStop = (e: SseEvent): boolean => e.event === 'stop'
export const isTracking = (e: SseEvent): boolean => e.event === 'tracking'
export const withStatus = (status: string) => (e: SseEvent): boolean => e.event === 'message' && order(e).status === status
