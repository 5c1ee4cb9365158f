/**
 * Writes `openapi/openapi.json` and `openapi/openapi.yaml` from the route schemas
 * (`npm run openapi`). With `--check`, writes nothing and exits 1 when the committed
 * files differ from a fresh generation (for CI). Run from the repository root.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { buildSpec } from '../src/openapi/build.js'
import { SPEC_FILES, specJson, specYaml } from '../src/openapi/spec.js'

async function readOrEmpty (path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch {
    return ''
  }
}

const check = process.argv.includes('--check')
const doc = await buildSpec()
const files: Array<[string, string]> = [
  [resolve(SPEC_FILES.json), specJson(doc)],
  [resolve(SPEC_FILES.yaml), specYaml(doc)]
]

let stale = 0
for (const [path, text] of files) {
  if (await readOrEmpty(path) === text) {
    process.stdout.write(`up to date: ${path}\n`)
    continue
  }
  if (check) {
    stale++
    process.stderr.write(`stale: ${path} (run npm run openapi)\n`)
    continue
  }
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, text)
  process.stdout.write(`wrote: ${path}\n`)
}
if (stale > 0) process.exitCode = 1
