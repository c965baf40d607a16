// The queue's hot write transactions, written once for the queue's own connection and for the writer thread's
// (writer-worker.ts): an ingest batch (records after the stored last seq, the oldest dropped first to make room when
// queue.onFull is drop-oldest, ingest rejections as dead letters) and a sink's advance (its cursor, its dead letters, and
// the records every sink has now passed).
import type Database from 'better-sqlite3';
import type { RecordLog, Freed, NewRecord } from './record-log.js';
import { NOTHING_FREED, recordSize } from './record-log.js';
import type { SinkCursors } from './sink-cursors.js';
import type { DeadLetterStore, NewDeadLetter } from './dead-letters.js';
import type { QueueOptions } from './options.js';
import { isDiskFull } from './db.js';

/** Records deleted per write transaction when pruning, so one prune never holds the write lock for long. */
export const PRUNE_SLICE = 20_000;

export interface QueueStores {
  db: Database.Database;
  log: RecordLog;
  sinks: SinkCursors;
  deadLetters: DeadLetterStore;
}

/** What a committed batch changed, for the queue's counters (the connection that committed it may be another thread's). */
export interface Appended {
  firstSeq: number;
  lastSeq: number;
  /** Stored bytes added (before what drop-oldest freed). */
  size: number;
  dropped: Freed;
  /** Dead letters deleted beyond queue.deadLetterMaxRecords after the batch's rejections. */
  deadLettersCapped: number;
}

export interface Advanced {
  freed: Freed;
  deadLettersCapped: number;
}

/** Deletes the oldest run of records (inside the caller's transaction); orphaned sinks no longer owe them. */
export function deleteOldest(s: QueueStores, until: { needBytes?: number; cutoff?: number }): Freed {
  const upTo = s.log.oldestRun(until);
  if (!upTo) return NOTHING_FREED;
  s.sinks.skipDeleted(upTo);
  return s.log.deleteUpTo(upTo);
}

/** The records every sink has passed (null: none). */
export function passedUpTo(s: QueueStores): number | null {
  const upTo = s.sinks.heldFrom() ?? s.log.lastSeq;
  const first = s.log.firstSeq();
  return first === null || first > upTo ? null : upTo;
}

export type AppendBatch = (
  records: readonly NewRecord[],
  rejects: readonly NewDeadLetter[],
  onlySink: string | null,
  /** The queue's stored bytes before this batch (the queue's count: the log of another thread's connection lacks it). */
  bytesBefore: number,
) => Appended;

/** The batch's transaction on these stores' connection; throws SQLite's error (a full disk included) with nothing stored. */
export function appendTransaction(s: QueueStores, opts: Pick<QueueOptions, 'onFull' | 'maxBytes'>): AppendBatch {
  const tx = s.db.transaction((records: readonly NewRecord[], rejects: readonly NewDeadLetter[], onlySink: string | null, bytesBefore: number, now: number) => {
    let size = 0;
    for (const r of records) size += r.size ?? recordSize(r.json, r.facts);
    const after = s.log.storedLastSeq();
    const lastSeq = s.log.insert(records, onlySink, now, after);
    let dropped: Freed = NOTHING_FREED;
    // After the insert, so a batch larger than the free space (or than the whole capacity) is cut down too.
    if (opts.onFull === 'drop-oldest' && bytesBefore + size > opts.maxBytes) {
      dropped = deleteOldest(s, { needBytes: bytesBefore + size - opts.maxBytes });
    }
    for (const d of rejects) s.deadLetters.add(d, now);
    return { firstSeq: after + 1, lastSeq, size, dropped, deadLettersCapped: 0 };
  });
  return (records, rejects, onlySink, bytesBefore) => {
    // IMMEDIATE (as every transaction that may read before it writes): with two connections on the file, a deferred one
    // fails at once (SQLITE_BUSY, no busy wait) when the other committed between its read and its first write.
    const r = tx.immediate(records, rejects, onlySink, bytesBefore, Date.now());
    if (rejects.length) r.deadLettersCapped = s.deadLetters.cap();
    return r;
  };
}

export type AdvanceSink = (sink: string, cursor: number, delivered: number, deadLetters: readonly NewDeadLetter[], andPrune: boolean) => Advanced;

/**
 * A sink's batch done (delivered, filtered out, or dead-lettered): its cursor and dead letters, atomically, and with
 * andPrune the records every sink has now passed (up to PRUNE_SLICE of them; Queue.prune does the rest): one write
 * transaction, one fsync, per delivered batch instead of two. Should the prune not fit on a full disk, the cursor is
 * saved without it.
 */
export function advanceTransaction(s: QueueStores): AdvanceSink {
  const tx = s.db.transaction((sink: string, cursor: number, delivered: number, deadLetters: readonly NewDeadLetter[], andPrune: boolean, now: number): Freed => {
    for (const d of deadLetters) s.deadLetters.add(d, now);
    s.sinks.advance(sink, cursor, delivered, deadLetters.length, now);
    const upTo = andPrune ? passedUpTo(s) : null;
    return upTo === null ? NOTHING_FREED : s.log.deleteUpTo(Math.min(upTo, s.log.firstSeq()! + PRUNE_SLICE - 1));
  });
  return (sink, cursor, delivered, deadLetters, andPrune) => {
    const now = Date.now();
    let freed: Freed;
    try {
      freed = tx.immediate(sink, cursor, delivered, deadLetters, andPrune, now);
    } catch (e) {
      if (!andPrune || !isDiskFull(e)) throw e;
      freed = tx.immediate(sink, cursor, delivered, deadLetters, false, now);
    }
    return { freed, deadLettersCapped: deadLetters.length ? s.deadLetters.cap() : 0 };
  };
}

/**
 * Puts dead letters of one sink back in that sink's stream (appended to the log, addressed to that sink only) and
 * removes them, inside the caller's transaction. Dead letters from ingest (no sink) or truncated ones cannot be retried
 * and are left in place.
 */
export function retryTransaction(s: QueueStores, ids: readonly number[], now: number): { retried: number; skipped: number; lastSeq: number; bytes: number } {
  let retried = 0;
  let skipped = 0;
  let bytes = 0;
  let lastSeq = s.log.storedLastSeq();
  for (const id of ids) {
    const d = s.deadLetters.get(id);
    if (!d) continue;
    if (d.sink === null || d.rawTruncated) {
      skipped++;
      continue;
    }
    s.deadLetters.take(id);
    const json = oneLine(d.raw);
    lastSeq = s.log.insert([{ decisionId: d.decisionId ?? '', eventType: eventTypeOf(json), json }], d.sink, now, lastSeq);
    bytes += recordSize(json);
    retried++;
  }
  return { retried, skipped, lastSeq, bytes };
}

/** The log stores a record per line: a dead letter's JSON written over several lines is put back on one. */
function oneLine(raw: string): string {
  if (!raw.includes('\n')) return raw;
  try {
    return JSON.stringify(JSON.parse(raw));
  } catch {
    return raw.replace(/\r?\n/g, ' ');
  }
}

function eventTypeOf(json: string): string {
  try {
    const v = JSON.parse(json) as { eventType?: unknown };
    return typeof v.eventType === 'string' ? v.eventType : '';
  } catch {
    return '';
  }
}
