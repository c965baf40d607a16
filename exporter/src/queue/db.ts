// The queue's SQLite file: its schema, how it is opened (pragmas), and which SQLite errors mean "the disk is full".
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import { openSqlite } from './sqlite.js';
import { migrateRecords, recordsTable, viewOlderFormat, type MigrationProgress } from './records-table.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
${recordsTable('records')}
CREATE TABLE IF NOT EXISTS sinks (
  name TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  cursor INTEGER NOT NULL,
  active INTEGER NOT NULL DEFAULT 1,
  delivered INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  dead_lettered INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  last_error_at INTEGER,
  last_success_at INTEGER,
  added_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY,
  created_at INTEGER NOT NULL,
  sink TEXT,
  reason TEXT NOT NULL,
  error TEXT NOT NULL,
  seq INTEGER,
  decision_id TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  raw BLOB NOT NULL,
  raw_truncated INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS dead_letters_by_sink ON dead_letters (sink, reason);
`;

/**
 * Columns added after the first release, added to older files on open (older exporters ignore them).
 * sinks.removed_at_seq: the last record a sink removed from the configuration still owes (its backlog is kept);
 * sinks.start_from: where the sink started when it was added (startFrom), for `exporter status`.
 * records.facts: what the sinks' routing reads of each record, computed at ingest (routing/facts.ts).
 */
const ADDED_COLUMNS: readonly { table: string; column: string; decl: string }[] = [
  { table: 'sinks', column: 'removed_at_seq', decl: 'INTEGER' },
  { table: 'sinks', column: 'start_from', decl: 'TEXT' },
  { table: 'records', column: 'facts', decl: 'TEXT' },
];

/** Files the queue creates are the owner's alone (decision records hold user names and objects). */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

export interface OpenOptions {
  readonly: boolean;
  /** Create the file (the exporter); the operations CLI only opens an existing one. */
  create: boolean;
  synchronous: 'normal' | 'full';
  /** WAL pages after which SQLite checkpoints (a small volume gets a smaller WAL). */
  walAutocheckpointPages: number;
  /** A file in the per-record format is migrated on open (writable only): told as it goes, and once done. */
  onMigration?: { progress?: MigrationProgress; done?: (records: number, ms: number) => void };
}

export function openQueueDb(file: string, o: OpenOptions): Database.Database {
  if (o.create && !fs.existsSync(file)) fs.closeSync(fs.openSync(file, 'a', PRIVATE_FILE_MODE));
  const db = openSqlite(file, { readonly: o.readonly, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    if (!o.readonly) {
      // Large pages: ~500-byte rows insert about twice as fast as with the 4 KiB default (bench/exporter-ingest.ts).
      // Only takes effect on a new file.
      db.pragma('page_size = 65536');
      db.pragma('journal_mode = WAL');
      // Checkpoint often and cut the WAL back afterwards: a small WAL is what lets a full disk recover.
      db.pragma(`wal_autocheckpoint = ${o.walAutocheckpointPages}`);
      db.pragma(`journal_size_limit = ${4 * 1024 * 1024}`);
      db.pragma(`synchronous = ${o.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      // A 2 MiB page cache (better-sqlite3's build defaults to 16 MB): an ingest commit writes fresh pages and delivery
      // reads the newest ones, so a larger cache mostly holds pages nobody reads again, as resident memory
      // (bench/exporter-ingest.ts: 8-14 MB less peak RSS; CPU per record within the noise of the shared machine).
      db.pragma('cache_size = -2048');
      db.exec(SCHEMA);
      addMissingColumns(db);
      const started = Date.now();
      const moved = migrateRecords(db, o.onMigration?.progress);
      if (moved !== null) o.onMigration?.done?.(moved, Date.now() - started);
    } else {
      viewOlderFormat(db);
    }
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

function addMissingColumns(db: Database.Database): void {
  for (const c of ADDED_COLUMNS) {
    const have = (db.pragma(`table_info(${c.table})`) as { name: string }[]).some((r) => r.name === c.column);
    if (!have) db.exec(`ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.decl}`);
  }
}

export function isDiskFull(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN';
}

/** Pages inside the database file that deleted records left (reused before the file grows), in bytes. */
export function internalFreeBytes(db: Database.Database): number {
  const pages = db.pragma('freelist_count', { simple: true }) as number;
  const size = db.pragma('page_size', { simple: true }) as number;
  return pages * size;
}

export function checkpointQuietly(db: Database.Database): void {
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    // a reader holds the WAL or the disk refused; the next call tries again
  }
}

/**
 * The queue's files private to the exporter's user (they hold user names and objects); files an older version
 * created readable by others are narrowed. SQLite creates the -wal and -shm files with the database file's mode.
 */
export function restrictModes(file: string): void {
  fs.chmodSync(file, PRIVATE_FILE_MODE);
  for (const f of [`${file}-wal`, `${file}-shm`]) {
    try {
      fs.chmodSync(f, PRIVATE_FILE_MODE);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}
