/**
 * The state database of one gateway: one SQLite file, `trackgate.db`, in the data
 * directory (created on first open), through better-sqlite3's synchronous API — the
 * ports stay async, the SQLite backends simply answer at once.
 *
 * - `journal_mode = WAL`: readers never block the writer; commits append to
 *   `trackgate.db-wal`, checkpointed into the main file in the background and on close.
 * - `synchronous = NORMAL`: a commit is written to the WAL (the OS's page cache) before
 *   it returns, but fsynced only at checkpoints. That survives a crash of the process,
 *   `kill -9` included (the OS keeps the file's pages), and the database never becomes
 *   corrupt; a power cut or a kernel crash can roll back the last commits since the last
 *   checkpoint — a handful of quota slots and allowance calls then go uncounted, an
 *   `Idempotency-Key` answer or a snapshot version may be forgotten. The trade, against
 *   `FULL`'s fsync on every commit (every upstream call's ledger write waited for the
 *   disk: 838 forwarded checks/s): docs/operations.md, "The state database".
 * - `wal_autocheckpoint = 10000` pages (≈ 40 MB of WAL; SQLite's default is 1000): a
 *   checkpoint copies the WAL into the file and, with `NORMAL`, is where the fsyncs
 *   happen, on the event loop (better-sqlite3 is synchronous). An upstream call's
 *   charge writes a few pages, so at the default a checkpoint came every few hundred
 *   calls and put a commit of several ms into every few hundred; ten times rarer, the
 *   stall is longer but reaches far fewer requests. At production rates (1 000 upstream
 *   calls a day) either is rare; moving checkpoints to a worker thread is the next step.
 * - `busy_timeout`: a second connection (a backup, `sqlite3` on the command line)
 *   makes writers wait up to 5 s instead of failing at once.
 *
 * Statements are prepared once and cached by their SQL text. One gateway process per
 * file: leases and the tracking bus stay in process (`src/state/index.ts`).
 */
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import type BetterSqlite3 from 'better-sqlite3'
import { migrate } from './migrate.js'
import { MIGRATIONS, type Migration } from './migrations.js'

/** Name of the database file in the data directory. */
export const DATABASE_FILE = 'trackgate.db'

/** WAL pages after which a commit checkpoints (see the module comment). */
const WAL_AUTOCHECKPOINT_PAGES = 10_000

/** How long a write waits for another connection's lock before failing. */
const BUSY_TIMEOUT_MS = 5000

/** Options of {@link openStateDatabase}. */
export interface OpenOptions {
  /** Migrations to apply (default: all of {@link MIGRATIONS}; tests pass fewer). */
  migrations?: readonly Migration[]
}

/** See the module comment. */
export class StateDatabase {
  /** Absolute path of the database file. */
  readonly path: string
  /** Names of the migrations applied when it was opened (empty when it was up to date). */
  readonly migrated: readonly string[]
  readonly #db: BetterSqlite3.Database
  readonly #statements = new Map<string, BetterSqlite3.Statement>()
  /**
   * One `BEGIN IMMEDIATE` wrapper, made once, that runs the function it is given:
   * better-sqlite3's `db.transaction(fn)` builds four wrapper functions and defines their
   * properties on every call (about 3 KB and a few µs per transaction, on the path of every
   * upstream call's charge).
   */
  readonly #immediate: (fn: () => unknown) => unknown

  constructor (path: string, db: BetterSqlite3.Database, migrated: readonly string[]) {
    this.path = path
    this.#db = db
    this.migrated = migrated
    this.#immediate = db.transaction((fn: () => unknown) => fn()).immediate
  }

  /** The prepared statement of `sql`, prepared on first use. */
  statement (sql: string): BetterSqlite3.Statement {
    let statement = this.#statements.get(sql)
    if (statement === undefined) {
      statement = this.#db.prepare(sql)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  /** Runs `fn` in one `BEGIN IMMEDIATE` transaction (rolled back if it throws). */
  transaction<T> (fn: () => T): T {
    return this.#immediate(fn) as T
  }

  /** A pragma's single value (`journal_mode`, `synchronous`, `user_version`, …). */
  pragma (name: string): unknown {
    return this.#db.pragma(name, { simple: true })
  }

  get open (): boolean {
    return this.#db.open
  }

  /** Checkpoints the WAL into the main file and closes; later calls do nothing. */
  close (): void {
    if (this.#db.open) this.#db.close()
  }
}

/** Opens (creating the directory and file if needed) and migrates the database in `dataDir`. */
export function openStateDatabase (dataDir: string, opts: OpenOptions = {}): StateDatabase {
  const dir = resolve(dataDir)
  mkdirSync(dir, { recursive: true })
  const path = join(dir, DATABASE_FILE)
  const db = new Database(path)
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
    const mode = db.pragma('journal_mode = WAL', { simple: true })
    if (mode !== 'wal') throw new Error(`could not put ${path} in WAL mode (got ${String(mode)})`)
    db.pragma('synchronous = NORMAL')
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`)
    const migrated = migrate(db, opts.migrations ?? MIGRATIONS)
    return new StateDatabase(path, db, migrated)
  } catch (err) {
    db.close()
    throw err
  }
}
