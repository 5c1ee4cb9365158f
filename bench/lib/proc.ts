/**
 * Child processes of a benchmark (simulator, gateway, baseline proxy, load clients),
 * and what the kernel says about them: resident memory and CPU time from `/proc`,
 * read from outside so that measuring does not disturb the measured process.
 */
import { fork, execFileSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { IpcEvent, IpcReply, IpcRequest } from './ipc.js'
import { sleep } from './time.js'

/** How a child is started. */
export interface StartOptions {
  /** Short name used in messages (`gateway`, `client-2`). */
  name: string
  /** The JavaScript entry file (see `build.ts`). */
  entry: string
  /** Extra environment variables (on top of a cleaned copy of this process's). */
  env?: Readonly<Record<string, string>>
  /** Node flags of the child, e.g. `--expose-gc`. Default none (the parent's are not inherited). */
  execArgv?: readonly string[]
  /** Working directory. Default: this process's. */
  cwd?: string
  /** Longest wait for the child's `ready` event, ms. Default 30 s. */
  readyTimeoutMs?: number
}

/** Environment variables never passed on: loaders and coverage hooks of a test runner. */
const STRIPPED_ENV = ['NODE_OPTIONS', 'NODE_V8_COVERAGE']

/** Keeps the last bytes a child wrote, for error messages. */
class OutputTail {
  #text = ''
  add (chunk: Buffer): void {
    this.#text = (this.#text + chunk.toString('utf8')).slice(-4000)
  }

  get text (): string {
    return this.#text.trim()
  }
}

/** A running child with the IPC protocol of `ipc.ts`. */
export class BenchChild {
  readonly name: string
  readonly pid: number
  /** Data of the child's `ready` event. */
  readonly ready: unknown
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  readonly #listeners = new Map<string, Set<(data: unknown) => void>>()
  readonly #tail: OutputTail
  #nextId = 1
  #exit: { code: number | null, signal: NodeJS.Signals | null } | null = null
  readonly #exited: Promise<void>

  private constructor (name: string, child: ChildProcess, tail: OutputTail, ready: unknown, exited: Promise<void>) {
    this.name = name
    this.#child = child
    this.pid = child.pid as number
    this.#tail = tail
    this.ready = ready
    this.#exited = exited
    child.on('message', (raw: unknown) => { this.#onMessage(raw) })
    void exited.then(() => {
      for (const p of this.#pending.values()) p.reject(new Error(`${name} exited (${this.exitDescription()})${this.#tailNote()}`))
      this.#pending.clear()
    })
  }

  /** Starts `opts.entry` and waits for its `ready` event. */
  static async start (opts: StartOptions): Promise<BenchChild> {
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !STRIPPED_ENV.includes(k)) env[k] = v
    Object.assign(env, opts.env)
    const child = fork(opts.entry, [], {
      env,
      execArgv: [...(opts.execArgv ?? [])],
      cwd: opts.cwd ?? process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc']
    })
    const tail = new OutputTail()
    child.stdout?.on('data', (c: Buffer) => { tail.add(c) })
    child.stderr?.on('data', (c: Buffer) => { tail.add(c) })
    let exitInfo: { code: number | null, signal: NodeJS.Signals | null } | null = null
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => { exitInfo = { code, signal }; resolve() })
    })
    const timeoutMs = opts.readyTimeoutMs ?? 30_000
    const ready = await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`${opts.name} did not start within ${timeoutMs} ms${tail.text === '' ? '' : `:\n${tail.text}`}`))
      }, timeoutMs)
      child.on('message', function onReady (raw: unknown) {
        const m = raw as Partial<IpcEvent>
        if (m.event !== 'ready') return
        clearTimeout(timer)
        child.off('message', onReady)
        resolve(m.data)
      })
      void exited.then(() => {
        clearTimeout(timer)
        const info = exitInfo as { code: number | null, signal: NodeJS.Signals | null } | null
        reject(new Error(`${opts.name} exited before it was ready (code ${String(info?.code)}, signal ${String(info?.signal)})${tail.text === '' ? '' : `:\n${tail.text}`}`))
      })
    })
    const handle = new BenchChild(opts.name, child, tail, ready, exited)
    void exited.then(() => { handle.#exit = exitInfo })
    return handle
  }

  /** True while the process runs. */
  get running (): boolean {
    return this.#exit === null && this.#child.exitCode === null && this.#child.signalCode === null
  }

  exitDescription (): string {
    const e = this.#exit ?? { code: this.#child.exitCode, signal: this.#child.signalCode }
    return `code ${String(e.code)}, signal ${String(e.signal)}`
  }

  #tailNote (): string {
    return this.#tail.text === '' ? '' : `; last output:\n${this.#tail.text}`
  }

  /** The last output of the child (for error reports). */
  get output (): string {
    return this.#tail.text
  }

  /** Sends a command and resolves with the child's result. */
  async call<T> (cmd: string, args?: unknown, timeoutMs = 60_000): Promise<T> {
    if (!this.running) throw new Error(`${this.name} is not running (${this.exitDescription()})${this.#tailNote()}`)
    const id = this.#nextId++
    const request: IpcRequest = { id, cmd, args }
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`${this.name}: no answer to ${cmd} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v as T) },
        reject: (e) => { clearTimeout(timer); reject(e) }
      })
      this.#child.send(request)
    })
  }

  /** Listens to the child's `event`s; returns a function that stops listening. */
  on (event: string, listener: (data: unknown) => void): () => void {
    let set = this.#listeners.get(event)
    if (set === undefined) {
      set = new Set()
      this.#listeners.set(event, set)
    }
    set.add(listener)
    return () => { this.#listeners.get(event)?.delete(listener) }
  }

  #onMessage (raw: unknown): void {
    const m = raw as Partial<IpcReply & IpcEvent>
    if (typeof m.id === 'number') {
      const p = this.#pending.get(m.id)
      if (p === undefined) return
      this.#pending.delete(m.id)
      if (m.ok === true) p.resolve(m.result)
      else p.reject(new Error(`${this.name}: ${m.error ?? 'failed'}`))
      return
    }
    if (typeof m.event === 'string') for (const l of this.#listeners.get(m.event) ?? []) l(m.data)
  }

  /** Resident set size, KiB (`VmRSS`). */
  rssKb (): number {
    return readRssKb(this.pid)
  }

  /** CPU time used so far (user + system), ms. */
  cpuMs (): number {
    return readCpuMs(this.pid)
  }

  /** Stops the child: SIGTERM, then SIGKILL after `graceMs`. */
  async stop (graceMs = 5000): Promise<void> {
    if (!this.running) return
    this.#child.kill('SIGTERM')
    const done = await Promise.race([this.#exited.then(() => true), sleep(graceMs).then(() => false)])
    if (!done && this.running) {
      this.#child.kill('SIGKILL')
      await this.#exited
    }
  }

  /** Kills the child at once. */
  kill (): void {
    if (this.running) this.#child.kill('SIGKILL')
  }
}

/** `VmRSS` of a process, KiB. */
export function readRssKb (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  if (m === null) throw new Error(`no VmRSS for process ${pid}`)
  return Number(m[1])
}

let clockTicks: number | undefined

/** Kernel clock ticks per second (`getconf CLK_TCK`, 100 almost everywhere). */
export function clockTicksPerSecond (): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      clockTicks = 100
    }
  }
  return clockTicks
}

/** User + system CPU time of a process so far, ms (resolution: one clock tick). */
export function readCpuMs (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  return (utime + stime) * 1000 / clockTicksPerSecond()
}

/** The soft limit on open files of processes started from here (`ulimit -n`). */
export function openFileLimit (): number {
  const out = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()
  return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out)
}

/**
 * Throws a clear error when a process that must hold `needed` descriptors would run
 * out of them (what `what` says needs them).
 */
export function assertFileDescriptors (needed: number, what: string): void {
  const limit = openFileLimit()
  if (needed > limit) {
    throw new Error(`not enough file descriptors: ${what} needs about ${needed}, but \`ulimit -n\` is ${limit}. ` +
      `Raise it (e.g. \`ulimit -n ${Math.max(65536, needed * 2)}\` in the shell that runs the benchmark; the hard limit is \`ulimit -Hn\`) or use a smaller size.`)
  }
}
