// A queue file as exporters before 2026-12-07 wrote it (one row per record, none of the columns added later, no marker),
// for the tests of its migration.
import type Database from 'better-sqlite3';
import { openSqlite } from '../../src/queue/sqlite.js';

/** Creates the file with its tables; `fill` adds rows before it is closed. */
export function perRecordQueueFile(file: string, fill: (db: Database.Database) => void): void {
  const db = openSqlite(file);
  try {
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE records (seq INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, size INTEGER NOT NULL, only_sink TEXT,
        decision_id TEXT NOT NULL, event_type TEXT NOT NULL, json TEXT NOT NULL);
      CREATE TABLE sinks (name TEXT PRIMARY KEY, type TEXT NOT NULL, cursor INTEGER NOT NULL, active INTEGER NOT NULL DEFAULT 1,
        delivered INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0, dead_lettered INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, last_error_at INTEGER, last_success_at INTEGER, added_at INTEGER NOT NULL);
      CREATE TABLE dead_letters (id INTEGER PRIMARY KEY, created_at INTEGER NOT NULL, sink TEXT, reason TEXT NOT NULL,
        error TEXT NOT NULL, seq INTEGER, decision_id TEXT, attempts INTEGER NOT NULL DEFAULT 0, raw BLOB NOT NULL,
        raw_truncated INTEGER NOT NULL DEFAULT 0);
    `);
    db.transaction(() => fill(db))();
  } finally {
    db.close();
  }
}
