/**
 * The operator's gateway tokens: how server-side clients (the merchant's backend)
 * authenticate (`Authorization: Bearer tg_…`).
 *
 * The operator configures a JSON array of entries — inline (`GATEWAY_TOKENS`) and/or in
 * a file (`GATEWAY_TOKENS_FILE`) — each `{ name, sha256, routes?, daily_allowance? }`:
 * only the SHA-256 of a token is ever stored, so the configuration leaks nothing that
 * authenticates. `npm run token -- --name NAME` makes a token and its entry.
 *
 * Rotation without downtime: several entries may share a name (the old token and the
 * new one are both valid while clients switch), and the file is re-read when it
 * changes (looked at, at most, every {@link RELOAD_CHECK_MS}), so adding the new entry,
 * switching the client and removing the old entry needs no restart. A file that no
 * longer parses is reported and ignored: the entries last read stay in force.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import type { FastifyBaseLogger } from 'fastify'
import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import type { TokenCaller } from './caller.js'

/** How often, at most, the tokens file's modification time is looked at. */
export const RELOAD_CHECK_MS = 5000

/** One configured token. */
export const TokenEntry = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', description: 'Who holds it; several entries may share a name during a rotation.' }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Hex SHA-256 of the token.' }),
  routes: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Routes it may call, `METHOD /url` with an optional trailing `*`; default every route.' })),
  daily_allowance: Type.Optional(Type.Integer({ minimum: 0, description: 'Upstream calls it may cause per rolling 24 h; default `TOKEN_DAILY_ALLOWANCE`.' }))
}, { additionalProperties: false })
export type TokenEntry = Static<typeof TokenEntry>

const TokenEntries = Type.Array(TokenEntry)

/** Parses a JSON array of token entries; throws an `Error` saying what is wrong (never echoing a value). */
export function parseTokenEntries (json: string): TokenEntry[] {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    throw new Error('not valid JSON')
  }
  if (!Value.Check(TokenEntries, value)) {
    const first = Value.Errors(TokenEntries, value)[0]
    throw new Error(`expected an array of {name, sha256, routes?, daily_allowance?}${first === undefined ? '' : ` (${first.instancePath === '' ? 'top level' : first.instancePath}: ${first.message})`}`)
  }
  return value
}

/** Hex SHA-256 of a token, as entries store it. */
export function hashToken (token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** A new random token (`tg_` + 32 random bytes, base64url). */
export function newToken (): string {
  return `tg_${randomBytes(32).toString('base64url')}`
}

/** The shape a presented token must have before it is even hashed. */
const TOKEN_SHAPE = /^tg_[A-Za-z0-9_-]{43}$/

export interface TokenRegistryOptions {
  /** Entries given inline (`GATEWAY_TOKENS`). */
  entries: readonly TokenEntry[]
  /** `GATEWAY_TOKENS_FILE`, re-read when it changes. */
  file?: string | undefined
  /** Allowance of an entry that sets none (`TOKEN_DAILY_ALLOWANCE`). */
  defaultAllowance: number
  log: FastifyBaseLogger
  now?: () => number
}

/** Looks presented tokens up among the configured ones. */
export class TokenRegistry {
  readonly #opts: TokenRegistryOptions
  readonly #now: () => number
  #byHash = new Map<string, TokenCaller>()
  #fileEntries: readonly TokenEntry[] = []
  #fileMtimeMs = -1
  #checkedAt = -Infinity

  constructor (opts: TokenRegistryOptions) {
    this.#opts = opts
    this.#now = opts.now ?? Date.now
    this.#reloadIfChanged(true)
  }

  /** The caller a token stands for, or `undefined` when it is not (or no longer) configured. */
  lookup (token: string): TokenCaller | undefined {
    if (!TOKEN_SHAPE.test(token)) return undefined
    this.#reloadIfChanged(false)
    return this.#byHash.get(hashToken(token))
  }

  /** Entries in force (inline ones first). */
  get size (): number {
    return this.#byHash.size
  }

  #reloadIfChanged (first: boolean): void {
    const file = this.#opts.file
    if (file !== undefined) {
      const now = this.#now()
      if (first || now - this.#checkedAt >= RELOAD_CHECK_MS) {
        this.#checkedAt = now
        this.#readFile(file, first)
      }
    }
    if (first) this.#index()
  }

  #readFile (file: string, first: boolean): void {
    let mtimeMs: number
    try {
      mtimeMs = statSync(file).mtimeMs
    } catch (err) {
      if (first) throw new Error(`GATEWAY_TOKENS_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
      this.#opts.log.error({ file }, 'gateway tokens file unreadable: keeping the tokens last read')
      return
    }
    if (mtimeMs === this.#fileMtimeMs) return
    try {
      this.#fileEntries = parseTokenEntries(readFileSync(file, 'utf8'))
      this.#fileMtimeMs = mtimeMs
    } catch (err) {
      if (first) throw new Error(`GATEWAY_TOKENS_FILE: ${file}: ${(err as Error).message}`)
      this.#opts.log.error({ file, reason: (err as Error).message }, 'gateway tokens file invalid: keeping the tokens last read')
      return
    }
    if (!first) {
      this.#index()
      this.#opts.log.info({ file, tokens: this.#byHash.size }, 'gateway tokens reloaded')
    }
  }

  #index (): void {
    const byHash = new Map<string, TokenCaller>()
    for (const entry of [...this.#opts.entries, ...this.#fileEntries]) {
      byHash.set(entry.sha256, {
        kind: 'token',
        name: entry.name,
        allowance: entry.daily_allowance ?? this.#opts.defaultAllowance,
        routes: entry.routes ?? ['*']
      })
    }
    this.#byHash = byHash
  }
}
