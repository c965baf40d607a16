// The record log's table: a run of consecutive records to a row (record-log.ts), and the way from the per-record
// format exporters before 2026-12-07 wrote, in slices that free the old rows as they go, resumable after a crash.
import type Database from 'better-sqlite3';
import { hasColumn, hasTable } from './sqlite.js';

/**
 * Seqs first_seq..last_seq, received together, with the same only_sink. keys: a JSON array of each record's decisionId
 * then eventType; json: the records' JSON, one per line. size: what the records count against queue.maxBytes.
 */
export function recordsTable(name: string): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
  last_seq INTEGER PRIMARY KEY,
  first_seq INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  size INTEGER NOT NULL,
  only_sink TEXT,
  keys TEXT NOT NULL,
  json TEXT NOT NULL,
  facts TEXT
);`;
}

/** The record log as exporters before 2026-12-07 wrote it: one row per record. */
export const perRecordTable = (name: string) => `CREATE TABLE ${name} (
  seq INTEGER PRIMARY KEY,
  received_at INTEGER NOT NULL,
  size INTEGER NOT NULL,
  only_sink TEXT,
  decision_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  json TEXT NOT NULL
);`;

/** Where the per-record rows wait while they are migrated. */
export const MIGRATING_TABLE = 'records_per_record';
const OLD = MIGRATING_TABLE;
/** A per-record table's rows in the columns of the new one, each record a row of its own. */
const asRows = (table: string) =>
  `SELECT seq AS last_seq, seq AS first_seq, received_at, size, only_sink, json_array(decision_id, event_type) AS keys, json, NULL AS facts FROM ${table}`;

/** Records moved per transaction. */
export const MIGRATE_SLICE = 20_000;

/** Progress of a migration: records moved so far, of those it found to move. */
export type MigrationProgress = (moved: number, total: number) => void;

/**
 * Moves the records of a file in the per-record format into the new table, each a row of its own: a transaction per
 * slice that inserts it and deletes its old rows, so the file grows by about a slice (the pages freed are reused), not
 * by the whole queue; a migration cut short (a crash, a full disk) goes on where it stopped at the next open. An older
 * exporter started on a migrated file fails at start-up (its statements name columns the table lacks) instead of seeing
 * an empty queue. Returns the records moved, or null when there was nothing to migrate.
 */
export function migrateRecords(db: Database.Database, progress?: MigrationProgress, slice = MIGRATE_SLICE): number | null {
  if (!hasTable(db, OLD)) {
    if (!hasColumn(db, 'records', 'seq')) return null;
    db.transaction(() => db.exec(`ALTER TABLE records RENAME TO ${OLD}; ${recordsTable('records')}`)).immediate();
  }
  const total = (db.prepare(`SELECT count(*) AS n FROM ${OLD}`).get() as { n: number }).n;
  const sliceEnd = db.prepare(`SELECT max(seq) AS m FROM (SELECT seq FROM ${OLD} ORDER BY seq LIMIT ${slice})`);
  const insert = db.prepare(`INSERT INTO records ${asRows(OLD)} WHERE seq <= ?`);
  const remove = db.prepare(`DELETE FROM ${OLD} WHERE seq <= ?`);
  const move = db.transaction((): number => {
    const upTo = (sliceEnd.get() as { m: number | null }).m;
    if (upTo === null) return 0;
    const n = insert.run(upTo).changes;
    remove.run(upTo);
    return n;
  });
  let moved = 0;
  for (let n; (n = move.immediate()); ) {
    moved += n;
    progress?.(moved, total);
  }
  db.exec(`DROP TABLE ${OLD}`);
  return moved;
}

/**
 * A read-only handle on a file in the per-record format, or one whose migration was cut short: the statements of the
 * record log read a view that shows its records in the new table's columns (the file is left as it is).
 */
export function viewOlderFormat(db: Database.Database): void {
  const hasFacts = hasColumn(db, 'records', 'facts');
  // The rows of records, with a facts column whether or not the file has one yet (it is added on a writable open).
  const current = hasFacts ? 'SELECT * FROM main.records' : 'SELECT *, NULL AS facts FROM main.records';
  let parts: string[];
  if (hasColumn(db, 'records', 'seq')) parts = [asRows('main.records')];
  else if (hasTable(db, OLD)) parts = [current, asRows(`main.${OLD}`)];
  else if (!hasFacts) parts = [current];
  else return;
  db.exec(`CREATE TEMP VIEW records AS ${parts.join(' UNION ALL ')}`);
}
