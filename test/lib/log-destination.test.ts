/**
 * The batching log destination (`src/lib/log-destination.ts`): every line reaches the
 * file descriptor byte for byte and in order — short and long lines, characters outside
 * Latin-1, a line longer than the batch — once flushed, and a full batch is written
 * without waiting for the timer.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { logDestination } from '../../src/lib/log-destination.js'

function tempFile (t: Test): { fd: number, read: () => string } {
  const dir = mkdtempSync(join(tmpdir(), 'trackgate-log-'))
  const path = join(dir, 'out.log')
  const fd = openSync(path, 'w')
  t.teardown(() => { closeSync(fd); rmSync(dir, { recursive: true, force: true }) })
  return { fd, read: () => readFileSync(path, 'utf8') }
}

t.test('lines come out byte for byte and in order once flushed', async (t) => {
  const { fd, read } = tempFile(t)
  const destination = logDestination(fd)
  const lines = [
    '{"msg":"plain"}\n',
    '{"url":"/orders/6A5F…9c1e2b7a","msg":"two-byte"}\n',
    '{"emoji":"🚀","msg":"astral"}\n',
    `{"big":"${'é'.repeat(200_000)}"}\n`,
    '{"msg":"after the big one"}\n'
  ]
  for (const line of lines) destination.write(line)
  destination.flushSync()
  t.equal(read(), lines.join(''))
})

t.test('a full batch is written at once, without waiting for the timer', async (t) => {
  const { fd, read } = tempFile(t)
  const destination = logDestination(fd)
  const line = `{"msg":"${'x'.repeat(1000)}…"}\n`
  let written = ''
  for (let i = 0; i < 70; i++) {
    destination.write(line)
    written += line
  }
  const seen = read()
  t.ok(seen.length > 0, 'written synchronously once 64 KB were waiting')
  t.ok(written.startsWith(seen), 'a prefix of the lines, whole')
  destination.flushSync()
  t.equal(read(), written)
})
