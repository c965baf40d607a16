// One ingest batch's transaction, written once for the queue's own connection and for the append thread's
// (append-worker.ts): the records inserted after the stored last seq, the oldest dropped first to make room when
// queue.onFull is drop-oldest, the ingest rejections stored as dead letters.
import type Database from 'better-sqlite3';
import type { RecordLog, Freed, NewRecord } from './record-log.js';
import { NOTHING_FREED, recordSize } from './record-log.js';
import type { SinkCursors } from './sink-cursors.js';
import type { DeadLetterStore, NewDeadLetter } from './dead-letters.js';
import type { QueueOptions } from './options.js';

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

/** Deletes the oldest run of records (inside the caller's transaction); orphaned sinks no longer owe them. */
export function deleteOldest(s: QueueStores, until: { needBytes?: number; cutoff?: number }): Freed {
  const upTo = s.log.oldestRun(until);
  if (!upTo) return NOTHING_FREED;
  s.sinks.skipDeleted(upTo);
  return s.log.deleteUpTo(upTo);
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
    for (const r of records) size += recordSize(r.json);
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
    // IMMEDIATE: the transaction reads before it writes, and a deferred one would fail at once (SQLITE_BUSY, no busy
    // wait) if the queue's other connection committed in between.
    const r = tx.immediate(records, rejects, onlySink, bytesBefore, Date.now());
    if (rejects.length) r.deadLettersCapped = s.deadLetters.cap();
    return r;
  };
}
