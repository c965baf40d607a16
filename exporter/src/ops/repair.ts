// `exporter queue check|recover`: whether a queue file is sound, and getting an exporter going again when it is not —
// salvaging the rows SQLite can still read into a new file, or (only when asked) starting an empty queue. Both take the
// queue's lock: never while an exporter runs on it.
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { openSqlite } from '../queue/sqlite.js';
import { openQueueDb, restrictModes } from '../queue/db.js';
import { MIGRATING_TABLE, migrateRecords, perRecordTable } from '../queue/records-table.js';
import { hasColumn, hasTable } from '../queue/sqlite.js';
import { damagedRows } from '../queue/row-check.js';
import { DeadLetterStore } from '../queue/dead-letters.js';
import { takeLock, releaseLock } from '../queue/lock.js';
import { bindMarker, checkBeforeOpen, markerFile, readMarker } from '../queue/marker.js';

export interface CheckResult {
  queue: string;
  ok: boolean;
  problems: string[];
}

/** The marker's story (missing / truncated / replaced file), SQLite's integrity check, then the log's rows one by one. */
export function checkQueue(file: string): CheckResult {
  const queue = path.resolve(file);
  const problems: string[] = [];
  try {
    checkBeforeOpen(queue);
    if (!fs.existsSync(queue)) problems.push(`no queue at ${queue}`);
    else {
      const db = openSqlite(queue, { readonly: true, fileMustExist: true });
      try {
        const rows = db.pragma('integrity_check') as { integrity_check: string }[];
        for (const r of rows) if (r.integrity_check !== 'ok') problems.push(r.integrity_check);
        // A file in the per-record format has no rows of records to check (the exporter migrates it on open).
        if (!problems.length && hasColumn(db, 'records', 'first_seq')) {
          for (const d of damagedRows(db)) problems.push(`${d.problem}: \`exporter queue recover\` moves its records to the dead letters`);
        }
        const id = db.prepare(`SELECT value FROM meta WHERE key = 'queue_id'`).get() as { value: string } | undefined;
        const m = readMarker(queue);
        if (m && id && m.id !== id.value) problems.push(`${markerFile(queue)} names queue ${m.id}, the file holds ${id.value}`);
      } finally {
        db.close();
      }
    }
  } catch (e) {
    problems.push(`${(e as { code?: string }).code ? `${(e as { code: string }).code}: ` : ''}${(e as Error).message}`);
  }
  return { queue, ok: problems.length === 0, problems };
}

export interface RecoverResult {
  queue: string;
  /** Where the old files went. */
  movedAside: string[];
  /** Rows copied into the new file, per table (salvage only); for records, the records those rows hold. */
  salvaged: Record<string, number>;
  /** Places SQLite could not read (each may have hidden one or more rows). */
  unreadable: number;
  /** Rows of records that did not hold what their seqs say: their text moved to the dead letters (reason damaged_row). */
  damagedRows: number;
  fresh: boolean;
}

const SALVAGED_TABLES = ['meta', 'sinks', 'records', 'dead_letters'] as const;

export function recoverQueue(file: string, opts: { fresh: boolean }): RecoverResult {
  const queue = path.resolve(file);
  const lock = `${queue}.lock`;
  takeLock(lock);
  try {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const aside = opts.fresh ? `${queue}.lost-${stamp}` : `${queue}.damaged-${stamp}`;
    const result: RecoverResult = { queue, movedAside: [], salvaged: {}, unreadable: 0, damagedRows: 0, fresh: opts.fresh };
    let tmp: string | undefined;
    if (!opts.fresh) {
      const st = fs.statSync(queue, { throwIfNoEntry: false });
      if (!st || st.size === 0) {
        throw new Error(`nothing to salvage: ${queue} is ${st ? 'empty (0 bytes)' : 'missing'}; restore it from a backup, or start an empty queue with --fresh`);
      }
      tmp = `${queue}.recovering`;
      fs.rmSync(tmp, { force: true });
      salvageInto(queue, tmp, result);
    }
    for (const suffix of ['', '-wal', '-shm', '.id', '.reserve']) {
      if (fs.existsSync(queue + suffix)) {
        fs.renameSync(queue + suffix, aside + suffix);
        result.movedAside.push(aside + suffix);
      }
    }
    if (tmp) {
      fs.renameSync(tmp, queue);
      restrictModes(queue);
      // The marker went aside with the damaged file: the salvaged queue gets its own (with the id it kept, if any).
      const db = openSqlite(queue, { fileMustExist: true });
      try {
        bindMarker(queue, db, null);
      } finally {
        db.close();
      }
    }
    return result;
  } finally {
    releaseLock(lock);
  }
}

function salvageInto(from: string, to: string, result: RecoverResult): void {
  let src: Database.Database;
  try {
    src = openSqlite(from, { readonly: true, fileMustExist: true });
    src.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (e) {
    throw new Error(`SQLite cannot read ${from} at all (${(e as Error).message}); restore it from a backup, or start an empty queue with --fresh`);
  }
  const dst = openQueueDb(to, { readonly: false, create: true, synchronous: 'full', walAutocheckpointPages: 64 });
  try {
    // A file in the per-record format, or one whose migration was cut short, is salvaged as it is and then migrated,
    // as the exporter does on open.
    let perRecord = false;
    let migrating = false;
    try {
      perRecord = hasColumn(src, 'records', 'seq');
      migrating = hasTable(src, MIGRATING_TABLE);
    } catch {
      // an unreadable schema: copyTable counts it
    }
    if (perRecord) dst.exec(`DROP TABLE records; ${perRecordTable('records')}`);
    if (migrating) dst.exec(perRecordTable(MIGRATING_TABLE));
    for (const table of [...SALVAGED_TABLES, ...(migrating ? [MIGRATING_TABLE] : [])]) {
      const r = copyTable(src, dst, table);
      result.salvaged[table] = r.rows;
      result.unreadable += r.unreadable;
    }
    if (perRecord || migrating) migrateRecords(dst);
    result.damagedRows = moveDamagedRows(dst);
    // Records, not rows: a row of the log holds a run of them.
    result.salvaged['records'] = (dst.prepare('SELECT coalesce(sum(last_seq - first_seq + 1), 0) AS n FROM records').get() as { n: number }).n;
    delete result.salvaged[MIGRATING_TABLE];
    dst.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    src.close();
    dst.close();
  }
}

/** Largest jump over rowids SQLite cannot read, doubling from 1 while reads keep failing. */
const MAX_SKIP = 2 ** 40;

/**
 * Rows that do not hold what their seqs say leave the log (delivery would stop on them): their text goes to the dead
 * letters whole (no size cap: it is all that is left of those records), for no sink in particular, where
 * `exporter dead-letters list` shows it; nothing is dropped unseen.
 */
function moveDamagedRows(db: Database.Database): number {
  const damaged = damagedRows(db);
  if (!damaged.length) return 0;
  const dead = new DeadLetterStore(db, { maxRawBytes: Infinity, maxRecords: Infinity });
  const remove = db.prepare('DELETE FROM records WHERE last_seq = ?');
  db.transaction(() => {
    for (const d of damaged) {
      dead.add({ sink: null, reason: 'damaged_row', error: d.problem, seq: d.firstSeq, raw: d.json }, Date.now());
      remove.run(d.lastSeq);
    }
  })();
  return damaged.length;
}

/** Copies the rows it can read, in rowid order, stepping over the places that fail. */
function copyTable(src: Database.Database, dst: Database.Database, table: string): { rows: number; unreadable: number } {
  let columns: string[];
  try {
    const have = new Set((dst.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
    columns = (src.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name).filter((c) => have.has(c));
  } catch {
    return { rows: 0, unreadable: 1 };
  }
  if (!columns.length) return { rows: 0, unreadable: 0 };
  const list = columns.join(', ');
  const read = src.prepare(`SELECT rowid AS _rowid_, ${list} FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT ?`);
  const write = dst.prepare(`INSERT OR REPLACE INTO ${table} (${list}) VALUES (${columns.map(() => '?').join(', ')})`);
  let after = -1;
  let chunk = 500;
  let skip = 1;
  let rows = 0;
  let unreadable = 0;
  while (skip <= MAX_SKIP) {
    let batch: Record<string, unknown>[];
    try {
      batch = read.all(after, chunk) as Record<string, unknown>[];
    } catch {
      if (chunk > 1) {
        chunk = Math.max(1, chunk >> 1);
        continue;
      }
      unreadable++;
      after += skip;
      skip *= 2;
      continue;
    }
    if (!batch.length) break;
    dst.transaction(() => {
      for (const r of batch) write.run(...columns.map((c) => r[c]));
    })();
    rows += batch.length;
    after = batch[batch.length - 1]!['_rowid_'] as number;
    chunk = 500;
    skip = 1;
  }
  return { rows, unreadable };
}
