/**
 * Graceful shutdown, shared with every plugin as `app.lifecycle`.
 *
 * `app.lifecycle.shutdown({ timeoutMs })` (called by the server on SIGTERM/SIGINT):
 * 1. marks the process as shutting down: `/readyz` answers 503, and every response
 *    carries `Connection: close` so keep-alive clients move to another instance;
 * 2. stops accepting connections (idle keep-alive sockets are closed);
 * 3. runs the `onShutdown` handlers — the tracking plugin ends its event streams there
 *    with a `retry:` hint, so browsers reconnect elsewhere right away;
 * 4. waits for in-flight requests to finish (event streams excepted), until a little
 *    before `timeoutMs`;
 * 5. closes the app: `preClose`/`onClose` hooks run (the upstream pool is closed) and
 *    whatever is still open is cut.
 *
 * A plain `app.close()` (tests) skips the waiting but still runs the `onShutdown`
 * handlers once, from a `preClose` hook.
 */
import type { ServerResponse } from 'node:http'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

/** Work to do when a shutdown starts. */
export type ShutdownHandler = () => void | Promise<void>

export interface Lifecycle {
  /** True from the moment a shutdown starts. */
  readonly shuttingDown: boolean
  /** Requests being served, event streams excepted. */
  readonly inFlight: number
  /**
   * Tells that `res` has become an event stream: it never "finishes" by itself, so a
   * shutdown does not wait for it (its `onShutdown` handler ends it).
   */
  streaming (res: ServerResponse): void
  /** Registers `handler` to run once when a shutdown starts (before in-flight requests are awaited). */
  onShutdown (handler: ShutdownHandler): void
  /** Graceful shutdown within `timeoutMs`; resolves once the app is closed. */
  shutdown (opts: { timeoutMs: number }): Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    lifecycle: Lifecycle
  }
}

async function lifecycle (app: FastifyInstance): Promise<void> {
  /** Responses in flight, event streams excepted. */
  const open = new Set<ServerResponse>()
  const handlers: ShutdownHandler[] = []
  let shuttingDown = false
  let handlersRun: Promise<void> | undefined
  let changed: (() => void) | undefined

  const inFlight = (): number => open.size
  // One listener for every response (`this` is the response): no closure per request,
  // and nothing that would keep a stream's Fastify request and reply alive.
  function onClose (this: ServerResponse): void {
    open.delete(this)
    changed?.()
  }

  const runHandlers = async (): Promise<void> => {
    handlersRun ??= Promise.allSettled(handlers.map(async (h) => { await h() })).then((results) => {
      for (const r of results) if (r.status === 'rejected') app.log.error({ err: r.reason }, 'shutdown handler failed')
    })
    await handlersRun
  }

  /**
   * `Connection: close` on an HTTP/1 response whose headers are not sent yet, set on the
   * raw response (Fastify's `writeHead` adds its own headers to it). HTTP/2 has no
   * `Connection` header: its sessions are closed by the server's close.
   */
  const closeAfter = (res: ServerResponse): void => {
    if (!res.headersSent && res.req.httpVersionMajor < 2) res.setHeader('connection', 'close')
  }
  /** From now on every response says `Connection: close`: those in flight now, and later ones (onRequest). */
  const startShutdown = (): void => {
    if (shuttingDown) return
    shuttingDown = true
    for (const res of open) closeAfter(res)
  }

  // Synchronous: this runs on every request (no promise, no extra turn of the microtask queue).
  app.addHook('onRequest', (request, reply, done) => {
    open.add(reply.raw)
    reply.raw.on('close', onClose)
    if (shuttingDown) closeAfter(reply.raw)
    done()
  })

  app.addHook('preClose', async () => {
    startShutdown()
    await runHandlers()
  })

  const api: Lifecycle = {
    get shuttingDown () { return shuttingDown },
    get inFlight () { return inFlight() },
    streaming (res) {
      if (open.delete(res)) changed?.()
    },
    onShutdown (handler) { handlers.push(handler) },
    async shutdown ({ timeoutMs }) {
      const started = Date.now()
      // Keep a little time for closing the app itself.
      const drainUntil = started + timeoutMs - Math.min(2000, timeoutMs / 4)
      startShutdown()
      if (app.server.listening) app.server.close()
      const handlersDone = runHandlers()
      await Promise.race([handlersDone, new Promise((resolve) => setTimeout(resolve, Math.max(0, drainUntil - Date.now())).unref())])
      while (inFlight() > 0 && Date.now() < drainUntil) {
        await new Promise<void>((resolve) => {
          // Woken by a request ending or becoming a stream; polled as well.
          const timer = setTimeout(resolve, Math.min(100, Math.max(0, drainUntil - Date.now())))
          timer.unref()
          changed = () => { clearTimeout(timer); resolve() }
        })
        changed = undefined
      }
      const left = inFlight()
      if (left > 0) app.log.warn({ inFlight: left }, 'shutdown: cutting requests still in flight')
      await app.close()
    }
  }
  app.decorate('lifecycle', api)
}

export default fp(lifecycle, { name: 'lifecycle' })
