/**
 * Whether someone else may have written the state database since a store last looked:
 * what lets a store keep an in-process copy of rows it reads on every request (the
 * cache, snapshots, not-found marks) and skip the query while nobody else wrote.
 *
 * Two kinds of "someone else":
 * - **another connection in this process** on the same file (the state tests open two,
 *   standing for a gateway before and after a restart): every store that keeps a copy
 *   counts its own commits in a counter shared by all connections to that file in this
 *   process, so such a write is seen at once, at no cost;
 * - **another process** (a second gateway on the same `DATA_DIR`, the `sqlite3` shell, a
 *   restore): seen through `PRAGMA data_version`, which changes when another connection
 *   has committed and never for the connection's own commits (sqlite.org/pragma.html).
 *   Reading it takes SQLite's read lock (two `fcntl` calls), so it is read **at most
 *   once per turn of the event loop** per connection and reused by every store and
 *   request in that turn: another process's commit is seen from the next turn on.
 */
import type BetterSqlite3 from 'better-sqlite3'
import type { StateDatabase } from './database.js'

/** The connection's `data_version`, read at most once per event-loop turn. */
class DataVersion {
  readonly #statement: BetterSqlite3.Statement
  #value = 0
  #fresh = false
  readonly #expire = (): void => { this.#fresh = false }

  constructor (db: StateDatabase) {
    this.#statement = db.statement('PRAGMA data_version').pluck()
  }

  get (): number {
    if (!this.#fresh) {
      this.#value = this.#statement.get() as number
      this.#fresh = true
      setImmediate(this.#expire)
    }
    return this.#value
  }
}

const versions = new WeakMap<StateDatabase, DataVersion>()
/** Commits of copy-keeping stores, per database file, in this process. */
const localCommits = new Map<string, { count: number }>()

/** One store's view: see the module comment. */
export class ExternalWrites {
  readonly #version: DataVersion
  readonly #local: { count: number }
  #seenVersion: number
  #seenLocal: number

  constructor (db: StateDatabase) {
    let version = versions.get(db)
    if (version === undefined) {
      version = new DataVersion(db)
      versions.set(db, version)
    }
    let local = localCommits.get(db.path)
    if (local === undefined) {
      local = { count: 0 }
      localCommits.set(db.path, local)
    }
    this.#version = version
    this.#local = local
    this.#seenVersion = version.get()
    this.#seenLocal = local.count
  }

  /** True when someone else may have committed since the last call (or since construction). */
  changed (): boolean {
    let changed = false
    if (this.#local.count !== this.#seenLocal) {
      this.#seenLocal = this.#local.count
      changed = true
    }
    const version = this.#version.get()
    if (version !== this.#seenVersion) {
      this.#seenVersion = version
      changed = true
    }
    return changed
  }

  /** Records a commit of this store (after it): the other connections in this process see it at once. */
  committed (): void {
    const inStep = this.#seenLocal === this.#local.count
    this.#local.count++
    // Only this commit is new to this store; an earlier unseen one still counts as a change.
    if (inStep) this.#seenLocal = this.#local.count
  }
}
