/**
 * Starts a gateway instance in its own process (`gateway-process.ts`), for tests that
 * kill one with `SIGKILL` (no shutdown hooks, nothing flushed or released); the
 * process is killed when the test ends, or when the test runner exits.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import type { Config } from '../../src/config.js'

const CHILD = fileURLToPath(new URL('./gateway-process.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface GatewayProcess {
  url: string
  /** Sends `SIGKILL` and resolves once the process is gone. */
  kill: () => Promise<void>
}

/** Spawns a gateway on `config` and resolves with its URL once it listens. */
export async function spawnGateway (t: Test, config: Config): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', CHILD], {
    cwd: ROOT,
    env: { ...process.env, TRACKGATE_TEST_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
  const killChild = (): void => { child.kill('SIGKILL') }
  process.once('exit', killChild)
  t.teardown(async () => {
    killChild()
    process.removeListener('exit', killChild)
    await exited
  })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => { reject(new Error('the child instance did not start')) }, 60_000)
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8')
      const ready = /READY (\S+)/.exec(out)
      if (ready !== null) {
        clearTimeout(timer)
        resolve(ready[1] as string)
      }
    })
    child.once('exit', (code) => { reject(new Error(`the child instance exited (${code})`)) })
  })
  return {
    url,
    kill: async () => {
      killChild()
      await exited
    }
  }
}
