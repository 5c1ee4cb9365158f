/**
 * The migration runner: applies the migrations a database has not seen yet, each in
 * its own transaction together with the bump of `user_version` (so a crash leaves the
 * database at a whole step), and refuses a database written by a newer trackgate.
 */
import type BetterSqlite3 from 'better-sqlite3'
import type { Migration } from './migrations.js'

/** Brings `db` up to `migrations.length`; returns the names of the migrations applied. */
export function migrate (db: BetterSqlite3.Database, migrations: readonly Migration[]): string[] {
  const applied: string[] = []
  const version = (): number => db.pragma('user_version', { simple: true }) as number
  if (version() > migrations.length) {
    throw new Error(`the state database is at schema version ${version()}, newer than this trackgate knows (${migrations.length}): use a newer trackgate or another DATA_DIR`)
  }
  // IMMEDIATE: a second process opening the same file waits (busy_timeout) instead of migrating twice.
  const step = db.transaction((migration: Migration, to: number) => {
    if (version() >= to) return false
    db.exec(migration.sql)
    db.pragma(`user_version = ${to}`)
    return true
  })
  for (const [i, migration] of migrations.entries()) {
    if (step.immediate(migration, i + 1)) applied.push(migration.name)
  }
  return applied
}
