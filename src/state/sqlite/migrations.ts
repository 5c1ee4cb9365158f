/**
 * The schema of the state database, as an append-only list of migrations: one per
 * table. The database's `user_version` is the number of migrations applied; a new
 * table (or column, or index) is one more entry at the end — never an edit of an
 * entry already released, which databases in the field have applied.
 *
 * Times are epoch milliseconds. Every row that lapses has an `expires_at`: reads ignore
 * rows at or past it, and the sweeper deletes them (the index on `expires_at` keeps
 * that cheap).
 */

/** One step of the schema. */
export interface Migration {
  /** What it adds, for the logs and for whoever reads the list. */
  name: string
  /** The SQL, run in the same transaction as the `user_version` bump. */
  sql: string
}

export const MIGRATIONS: readonly Migration[] = [
  {
    name: 'cache: answers of /v1/meta* and /v1/prices',
    sql: `
      CREATE TABLE cache (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX cache_expires_at ON cache (expires_at);`
  },
  {
    name: 'idempotency: Idempotency-Key records and their answers',
    sql: `
      CREATE TABLE idempotency (
        key TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('running', 'done')),
        fingerprint TEXT NOT NULL,
        status_code INTEGER,
        content_type TEXT,
        body BLOB,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX idempotency_expires_at ON idempotency (expires_at);`
  },
  {
    name: 'snapshots: the last snapshot of each tracked order',
    sql: `
      CREATE TABLE snapshots (
        trackcode TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        json TEXT NOT NULL,
        checked_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX snapshots_expires_at ON snapshots (expires_at);`
  },
  {
    name: 'not_found: trackcodes upstream said it does not know',
    sql: `
      CREATE TABLE not_found (
        trackcode TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX not_found_expires_at ON not_found (expires_at);`
  },
  {
    name: 'known_orders: orders created through the gateway or registered',
    sql: `
      CREATE TABLE known_orders (
        trackcode TEXT PRIMARY KEY,
        source TEXT NOT NULL CHECK (source IN ('created', 'registered')),
        by_caller TEXT NOT NULL,
        since INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX known_orders_expires_at ON known_orders (expires_at);`
  },
  {
    name: 'webhooks: endpoints, the outbox of events, deliveries',
    sql: `
      CREATE TABLE webhook_endpoints (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        events TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        disabled_reason TEXT,
        failures INTEGER NOT NULL,
        failing_since INTEGER,
        secret TEXT NOT NULL,
        previous_secret TEXT,
        previous_secret_until INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE webhook_events (
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        trackcode TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        body TEXT NOT NULL,
        fanned_out INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX webhook_events_outbox ON webhook_events (fanned_out) WHERE fanned_out = 0;
      CREATE TABLE webhook_deliveries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL,
        endpoint_id TEXT NOT NULL,
        type TEXT NOT NULL,
        trackcode TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER,
        last_status INTEGER,
        last_error TEXT,
        delivered_at INTEGER,
        created_at INTEGER NOT NULL,
        claimed_until INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (endpoint_id, trackcode, state, seq);
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);`
  },
  {
    name: 'quota: the upstream calls of the rolling window, by partition, and upstream\'s pause',
    sql: `
      CREATE TABLE quota_calls (
        ledger TEXT NOT NULL,
        purpose TEXT NOT NULL CHECK (purpose IN ('poll', 'create', 'rest')),
        at INTEGER NOT NULL
      );
      CREATE INDEX quota_calls_window ON quota_calls (ledger, purpose, at);
      CREATE INDEX quota_calls_at ON quota_calls (at);
      CREATE TABLE quota_pause (
        ledger TEXT PRIMARY KEY,
        until INTEGER NOT NULL
      ) WITHOUT ROWID;`
  },
  {
    name: 'allowances: the upstream calls each caller caused in the rolling window',
    sql: `
      CREATE TABLE allowance_calls (
        caller TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX allowance_calls_window ON allowance_calls (caller, at);
      CREATE INDEX allowance_calls_at ON allowance_calls (at);`
  },
  {
    name: 'webhooks: when a delivery finished (its retention starts then), and the index of its event',
    sql: `
      ALTER TABLE webhook_deliveries ADD COLUMN finished_at INTEGER;
      UPDATE webhook_deliveries SET finished_at = COALESCE(delivered_at, created_at) WHERE state <> 'pending';
      CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE finished_at IS NOT NULL;
      CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);`
  },
  {
    // Counting a partition's or a caller's rows in the window costs as many index steps
    // as there are rows (≈ 0.3 ms at 10 000): kept by triggers instead, the count is one
    // row read, and only the expired rows not yet swept are counted and subtracted.
    // The indexes on `at` alone go: they served only the sweep (every 10 minutes, a scan
    // of at most a day of calls), and each was one more page written per upstream call.
    name: 'quota and allowances: the calls counted per partition and per caller, kept by triggers',
    sql: `
      DROP INDEX quota_calls_at;
      DROP INDEX allowance_calls_at;
      CREATE TABLE quota_counts (
        ledger TEXT NOT NULL,
        purpose TEXT NOT NULL,
        calls INTEGER NOT NULL,
        PRIMARY KEY (ledger, purpose)
      ) WITHOUT ROWID;
      INSERT INTO quota_counts (ledger, purpose, calls) SELECT ledger, purpose, count(*) FROM quota_calls GROUP BY ledger, purpose;
      CREATE TRIGGER quota_calls_counted AFTER INSERT ON quota_calls BEGIN
        INSERT INTO quota_counts (ledger, purpose, calls) VALUES (NEW.ledger, NEW.purpose, 1)
          ON CONFLICT (ledger, purpose) DO UPDATE SET calls = calls + 1;
      END;
      CREATE TRIGGER quota_calls_uncounted AFTER DELETE ON quota_calls BEGIN
        UPDATE quota_counts SET calls = calls - 1 WHERE ledger = OLD.ledger AND purpose = OLD.purpose;
      END;
      CREATE TABLE allowance_counts (
        caller TEXT PRIMARY KEY,
        calls INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO allowance_counts (caller, calls) SELECT caller, count(*) FROM allowance_calls GROUP BY caller;
      CREATE TRIGGER allowance_calls_counted AFTER INSERT ON allowance_calls BEGIN
        INSERT INTO allowance_counts (caller, calls) VALUES (NEW.caller, 1)
          ON CONFLICT (caller) DO UPDATE SET calls = calls + 1;
      END;
      CREATE TRIGGER allowance_calls_uncounted AFTER DELETE ON allowance_calls BEGIN
        UPDATE allowance_counts SET calls = calls - 1 WHERE caller = OLD.caller;
        DELETE FROM allowance_counts WHERE caller = OLD.caller AND calls <= 0;
      END;`
  },
  {
    // Each of the tables above put two pages into the WAL per upstream call (the table's
    // and its index's), and each count a third: six pages per charged call, about 6 µs
    // each on the path of every forwarded request. Now one table per ledger, keyed by
    // time: a row per millisecond with its calls and the running total of the ledger
    // (`total`, never lowered by the sweep), so a call rewrites one page per ledger and
    // the calls in the window are the newest total less the total before the window's
    // first row — two index seeks, no trigger, no count table.
    name: 'quota and allowances: one row per millisecond with the running total; no count tables',
    sql: `
      DROP TRIGGER quota_calls_counted;
      DROP TRIGGER quota_calls_uncounted;
      DROP TRIGGER allowance_calls_counted;
      DROP TRIGGER allowance_calls_uncounted;
      DROP TABLE quota_counts;
      DROP TABLE allowance_counts;
      CREATE TABLE quota_calls_by_ms (
        ledger TEXT NOT NULL,
        purpose TEXT NOT NULL CHECK (purpose IN ('poll', 'create', 'rest')),
        at INTEGER NOT NULL,
        calls INTEGER NOT NULL,
        total INTEGER NOT NULL,
        PRIMARY KEY (ledger, purpose, at)
      ) WITHOUT ROWID;
      INSERT INTO quota_calls_by_ms (ledger, purpose, at, calls, total)
        SELECT ledger, purpose, at, count(*), sum(count(*)) OVER (PARTITION BY ledger, purpose ORDER BY at)
        FROM quota_calls GROUP BY ledger, purpose, at;
      DROP TABLE quota_calls;
      ALTER TABLE quota_calls_by_ms RENAME TO quota_calls;
      CREATE TABLE allowance_calls_by_ms (
        caller TEXT NOT NULL,
        at INTEGER NOT NULL,
        calls INTEGER NOT NULL,
        total INTEGER NOT NULL,
        PRIMARY KEY (caller, at)
      ) WITHOUT ROWID;
      INSERT INTO allowance_calls_by_ms (caller, at, calls, total)
        SELECT caller, at, count(*), sum(count(*)) OVER (PARTITION BY caller ORDER BY at)
        FROM allowance_calls GROUP BY caller, at;
      DROP TABLE allowance_calls;
      ALTER TABLE allowance_calls_by_ms RENAME TO allowance_calls;`
  }
]
