/**
 * The small request/reply protocol between a benchmark and its child processes,
 * over Node's IPC channel (`child_process.fork`).
 *
 * - parent → child: `{ id, cmd, args }`; the child answers `{ id, ok, result }` or
 *   `{ id, ok: false, error }`.
 * - child → parent, unsolicited: `{ event, data }` (e.g. `ready` with the URL).
 *
 * A child exits when its parent goes away (the channel disconnects), so a crashed
 * or killed benchmark never leaves servers or thousands of sockets behind.
 */
import { getHeapSpaceStatistics } from 'node:v8'

/** A command sent to a child. */
export interface IpcRequest {
  id: number
  cmd: string
  args?: unknown
}

/** A child's answer to an {@link IpcRequest}. */
export interface IpcReply {
  id: number
  ok: boolean
  result?: unknown
  error?: string
}

/** A message a child sends on its own. */
export interface IpcEvent {
  event: string
  data?: unknown
}

/** Handles one command; the resolved value is the reply's `result`. */
export type IpcHandler = (args: unknown) => unknown

function send (message: IpcReply | IpcEvent): void {
  if (process.send === undefined || !process.connected) return
  process.send(message)
}

/** Child side: sends an unsolicited event to the parent. */
export function emitEvent (event: string, data?: unknown): void {
  send({ event, data })
}

/**
 * Child side: answers the parent's commands with `handlers`, and exits when the parent
 * disconnects. Throws when the process was not started with an IPC channel.
 */
export function serveIpc (handlers: Readonly<Record<string, IpcHandler>>): void {
  if (process.send === undefined) throw new Error('this entry must be started by a benchmark (child_process.fork)')
  process.on('message', (raw: unknown) => {
    const message = raw as Partial<IpcRequest>
    if (typeof message.id !== 'number' || typeof message.cmd !== 'string') return
    const id = message.id
    const handler = handlers[message.cmd]
    if (handler === undefined) {
      send({ id, ok: false, error: `unknown command ${message.cmd}` })
      return
    }
    Promise.resolve().then(() => handler(message.args)).then(
      (result) => { send({ id, ok: true, result }) },
      (err: unknown) => { send({ id, ok: false, error: err instanceof Error ? err.message : String(err) }) }
    )
  })
  process.on('disconnect', () => { process.exit(0) })
}

/** Memory after a collection: `process.memoryUsage()` plus the young generation's size. */
export interface MemoryAfterGc extends NodeJS.MemoryUsage {
  /**
   * Bytes committed to V8's young generation (`new_space`). V8 sizes it by the
   * allocation rate, in steps of megabytes, not by what is live: it is the main noise in
   * RSS differences.
   */
  newSpace: number
}

/**
 * Child side: a full garbage collection (twice, so objects freed by finalizers go too)
 * and the memory usage after it. Needs `--expose-gc`.
 */
export function collectGarbage (): MemoryAfterGc {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('start this process with --expose-gc')
  gc()
  gc()
  const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0
  return { ...process.memoryUsage(), newSpace }
}
