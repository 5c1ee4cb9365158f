/**
 * `node dist/server.js | cat`, then SIGTERM to the process group: `cat` dies with the
 * server, whose log destination breaks (EPIPE) just as shutdown logs. The process must
 * still exit within SHUTDOWN_TIMEOUT_MS.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { waitFor } from '../helpers/wait-for.js'

const SHUTDOWN_TIMEOUT_MS = 2000

t.test('SIGTERM with a broken stdout pipe: the process exits within SHUTDOWN_TIMEOUT_MS', async (t) => {
  const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', 'src/server.ts'], {
    cwd: process.cwd(),
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SECRETCRYPTOS_API_KEY: '', NODE_ENV: 'development', SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let out = ''
  child.stdout.on('data', (chunk) => { out += String(chunk) })
  let exit: { code: number | null, signal: string | null } | undefined
  child.once('exit', (code, signal) => { exit = { code, signal } })
  await waitFor(() => out.includes('Server listening at'), 'the server to start', 60_000)

  // The reader of the log pipe goes away (as `cat` does on the group's SIGTERM)...
  child.stdout.destroy()
  // ...and the server is told to stop: its shutdown logs hit the broken pipe.
  child.kill('SIGTERM')
  await waitFor(() => exit !== undefined, 'the process to exit', SHUTDOWN_TIMEOUT_MS + 8000)
  t.equal(exit?.signal, null, 'it exited by itself, not killed')
  t.ok(exit?.code === 0 || exit?.code === 1, `exit code ${String(exit?.code)}`)
})
