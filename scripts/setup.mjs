#!/usr/bin/env node
/**
 * Makes a fresh checkout runnable, so that `npm start` and `npm test` are the only
 * two commands a newcomer needs:
 *   - installs the npm dependencies from the lockfile when they are missing or stale;
 *   - with `--system`, installs the Debian packages the tests drive for real
 *     (chromium for the browser test, redis-server for the scale-out tests) when
 *     they are missing and this is a Debian machine where we may use apt-get.
 * Plain JavaScript on purpose: it runs before anything is installed.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const say = (msg) => process.stderr.write(`setup: ${msg}\n`)

/** npm keeps a copy of the lockfile it installed from in node_modules/.package-lock.json. */
function ensureNodeModules () {
  const lock = join(root, 'package-lock.json')
  const installed = join(root, 'node_modules', '.package-lock.json')
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return
  say('installing npm dependencies (npm ci)')
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' })
}

/** Debian package → a file it installs that proves it is there. */
const SYSTEM_PACKAGES = {
  chromium: '/usr/bin/chromium',
  'redis-server': '/usr/bin/redis-server'
}

function ensureSystemPackages () {
  const missing = Object.entries(SYSTEM_PACKAGES).filter(([, file]) => !existsSync(file)).map(([name]) => name)
  if (missing.length === 0) return
  const canApt = process.platform === 'linux' && existsSync('/usr/bin/apt-get') && process.getuid?.() === 0
  if (!canApt) {
    say(`the tests need these system packages: ${missing.join(', ')}. Install them (Debian: apt-get install ${missing.join(' ')}) and run again.`)
    process.exit(1)
  }
  say(`installing ${missing.join(', ')} with apt-get`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env })
}

ensureNodeModules()
if (process.argv.includes('--system')) ensureSystemPackages()
