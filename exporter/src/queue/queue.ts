// The durable queue: one append-only log of records (SQLite, WAL), a cursor per sink, dead letters in their own table,
// per-sink delivery state persisted so `exporter status` can read it from the file while the exporter is down.
// Each concern is a store of its own (record-log, sink-cursors, dead-letters, sink-health, disk-reserve); the queue
// composes them into transactions and owns the housekeeping: records leave the disk once every sink that still owes
// them has passed them (or by capacity / retention policy).
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { OutgoingRecord } from '../sinks/sink.js';
import { checkpointQuietly, internalFreeBytes, isDiskFull, openQueueDb, PRIVATE_DIR_MODE, restrictModes, type OpenOptions } from './db.js';
import { takeLock, releaseLock } from './lock.js';
import { DiskReserve } from './disk-reserve.js';
import { RecordLog, recordSize, NOTHING_FREED, type Freed, type NewRecord } from './record-log.js';
import { advanceTransaction, appendTransaction, deleteOldest, passedUpTo, retryTransaction, PRUNE_SLICE, type AdvanceSink, type Advanced, type AppendBatch, type Appended } from './transactions.js';
import { Checkpointer } from './checkpointer.js';
import { WriterThread } from './writer-thread.js';
import { SinkCursors, type Registration, type SinkRegistration, type SinkState } from './sink-cursors.js';
import { DeadLetterStore, type DeadLetter, type DeadLetterFilter, type NewDeadLetter } from './dead-letters.js';
import { bindMarker, checkBeforeOpen, explainOpenError } from './marker.js';
import { QueueFullError, type DropCounts, type QueueOptions } from './options.js';

export { ROW_OVERHEAD_BYTES, type NewRecord } from './record-log.js';
export type { SinkState, Registration } from './sink-cursors.js';
export type { NewDeadLetter, DeadLetter, DeadLetterFilter } from './dead-letters.js';
export { QueueLockedError } from './lock.js';
export { QueueLostError } from './marker.js';
export { QueueFullError, type DropCounts, type QueueOptions } from './options.js';

/** The same while the disk is full: each slice's DELETE needs room in the WAL. */
const PRUNE_SLICE_DISK_FULL = 1_000;
const MAX_WAL_PAGES = 64;

export class Queue {
  readonly db: Database.Database;
  readonly file: string;
  readonly log: RecordLog;
  readonly sinks: SinkCursors;
  readonly deadLetters: DeadLetterStore;
  private readonly lockFile: string | undefined;
  private readonly reserve: DiskReserve | undefined;
  readonly dropped: DropCounts = { queue_full: 0, max_age: 0, dead_letters_full: 0 };
  private readonly append: AppendBatch;
  private readonly advance: AdvanceSink;
  private readonly thread: WriterThread | undefined;
  private readonly checkpointer: Checkpointer | undefined;
  private appendListeners = new Set<() => void>();
  private freeListeners = new Set<() => void>();
  private warningListeners = new Set<(message: string) => void>();

  /**
   * Opens (creating if needed) the queue. `owner`: this process runs the exporter on it (takes a lock file so two
   * exporters never share one queue); otherwise a reader for the operations CLI.
   */
  constructor(
    file: string,
    readonly opts: QueueOptions,
    mode: { owner: boolean; readonly?: boolean; onMigration?: OpenOptions['onMigration'] } = { owner: true },
  ) {
    this.file = path.resolve(file);
    if (mode.owner) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: PRIVATE_DIR_MODE });
      this.lockFile = `${this.file}.lock`;
      takeLock(this.lockFile);
    } else if (!fs.existsSync(this.file)) {
      throw new Error(`no queue at ${this.file}`);
    }
    let db: Database.Database | undefined;
    const checkpointThread = mode.owner && !mode.readonly && !opts.writerThread && opts.checkpointThread === true;
    try {
      const marker = mode.owner ? checkBeforeOpen(this.file) : null;
      if (mode.owner && opts.diskReserveBytes) this.reserve = new DiskReserve(this.file, opts.diskReserveBytes);
      try {
        db = openQueueDb(this.file, {
          readonly: mode.readonly ?? false,
          create: mode.owner,
          synchronous: opts.synchronous,
          // With the checkpoint thread, the connection's own checkpoint is the backstop, for when the thread falls behind.
          walAutocheckpointPages: (checkpointThread ? 2 : 1) * this.walPages(),
          ...(mode.onMigration ? { onMigration: mode.onMigration } : {}),
        });
        this.db = db;
        this.log = new RecordLog(db);
      } catch (e) {
        throw explainOpenError(this.file, e);
      }
      if (mode.owner) {
        restrictModes(this.file);
        bindMarker(this.file, this.db, marker);
      }
      this.sinks = new SinkCursors(this.db);
      this.deadLetters = new DeadLetterStore(this.db, { maxRawBytes: opts.deadLetterMaxRawBytes, maxRecords: opts.deadLetterMaxRecords });
      this.append = appendTransaction(this, opts);
      this.advance = advanceTransaction(this);
      if (this.reserve) {
        checkpointQuietly(this.db);
        if (this.reserve.volumeFree() >= 2 * this.reserve.bytes) this.reserve.hold();
      }
      if (mode.owner && opts.writerThread) {
        this.thread = new WriterThread({ ...opts, file: this.file, walAutocheckpointPages: this.walPages() });
      } else if (checkpointThread) {
        this.checkpointer = new Checkpointer(this.db, this.walPages(), (m) => this.warningListeners.forEach((fn) => fn(m)));
      }
    } catch (e) {
      if (this.lockFile) releaseLock(this.lockFile);
      db?.close();
      this.reserve?.close();
      throw e;
    }
  }

  /**
   * A WAL checkpointed every quarter of the head-room (64 KiB pages), so a checkpoint fits in it on a small volume; at
   * most half of it when the checkpoint thread falls behind.
   */
  private walPages(): number {
    if (!this.reserve) return MAX_WAL_PAGES;
    return Math.max(1, Math.min(MAX_WAL_PAGES, Math.floor(this.reserve.bytes / 4 / 65536)));
  }

  get lastSeq(): number {
    return this.log.lastSeq;
  }
  /** Approximate stored size of the records (JSON length + per-row overhead), what maxBytes limits. */
  get bytes(): number {
    return this.log.bytes;
  }
  freeBytes(): number {
    return Math.max(0, this.opts.maxBytes - this.log.bytes);
  }
  /** True while the disk is full: ingest waits until sinks (or anything else) free space. */
  get diskFull(): boolean {
    return this.reserve?.diskFull ?? false;
  }
  /** The head-room in bytes (queue.diskReserveBytes capped to an eighth of the volume); 0 when off. */
  get diskReserveBytes(): number {
    return this.reserve?.bytes ?? 0;
  }

  onAppend(fn: () => void): () => void {
    this.appendListeners.add(fn);
    return () => this.appendListeners.delete(fn);
  }
  /** Called when records leave the queue (space may have freed). */
  onFree(fn: () => void): () => void {
    this.freeListeners.add(fn);
    return () => this.freeListeners.delete(fn);
  }
  /** What the queue worked around but an operator should know (its checkpoint thread failed). */
  onWarning(fn: (message: string) => void): void {
    this.warningListeners.add(fn);
  }
  private notifyFreed(f: Readonly<Freed>): void {
    if (!f.n) return;
    this.log.freed(f);
    for (const fn of this.freeListeners) fn();
  }

  static recordSize(json: string | Buffer, facts?: string): number {
    return recordSize(json, facts);
  }

  private room = () => {
    // Only on a full disk: the WAL may hold the last free bytes. Otherwise the batch path stays a statfs and a pragma.
    if (this.reserve!.diskFull) checkpointQuietly(this.db);
    return { volumeFree: this.reserve!.volumeFree(), internalFree: internalFreeBytes(this.db) };
  };

  /**
   * Commits one ingest batch (records and ingest rejections) in a single transaction.
   * With onFull=drop-oldest, oldest records are deleted first to make room (counted in dropped.queue_full).
   * Throws QueueFullError when the disk is full (nothing of the batch is stored then).
   */
  appendBatch(records: readonly NewRecord[], rejects: readonly NewDeadLetter[], onlySink: string | null = null): { firstSeq: number } {
    this.checkRoom();
    let r: Appended;
    try {
      r = this.append(records, rejects, onlySink, this.log.bytes);
    } catch (e) {
      throw this.appendError(e);
    }
    return this.appended(r, records.length);
  }

  /**
   * appendBatch on the writer thread when the queue has one (queue.writerThread): the caller's thread goes on while
   * SQLite inserts and syncs. Resolves once the batch committed. One batch at a time (ingest waits for each).
   */
  async appendBatchAsync(records: readonly NewRecord[], rejects: readonly NewDeadLetter[]): Promise<{ firstSeq: number }> {
    if (!this.thread) return this.appendBatch(records, rejects);
    this.checkRoom();
    const count = records.length; // the caller may reuse its arrays once the batch is handed over
    let r: Appended;
    try {
      r = await this.thread.append(records, rejects, null, this.log.bytes);
    } catch (e) {
      throw this.appendError(e);
    }
    return this.appended(r, count);
  }

  /** Resolves once the writer thread has nothing in flight: the queue's other writes then take no wait. */
  writerIdle(): Promise<void> {
    return this.thread ? this.thread.idle() : Promise.resolve();
  }

  private checkRoom(): void {
    if (this.reserve && !this.reserve.mayWrite(this.room)) {
      throw new QueueFullError(true, new Error('waiting for free space on the volume'));
    }
  }

  private appendError(e: unknown): unknown {
    if (!isDiskFull(e)) return e;
    this.reserve?.release();
    return new QueueFullError(true, e);
  }

  private appended(r: Appended, records: number): { firstSeq: number } {
    this.log.committed(r.lastSeq, r.size - r.dropped.b);
    this.dropped.queue_full += r.dropped.n;
    this.dropped.dead_letters_full += r.deadLettersCapped;
    this.checkpointer?.committed();
    if (records) for (const fn of this.appendListeners) fn();
    return { firstSeq: r.firstSeq };
  }

  // ---- sinks ----

  /**
   * Registers the configured sinks: a known sink resumes at its cursor, a renamed one (previousNames) takes over its old
   * cursor, a new one starts at the tail (startFrom newest) or at the oldest stored record. A sink no longer configured
   * keeps the records it still owes (an orphan: `orphanedRecords`, dropped only by `exporter sinks drop`).
   */
  registerSinks(sinks: readonly SinkRegistration[]): Registration {
    return this.db.transaction(() => this.sinks.register(sinks, this.log.storedLastSeq(), Date.now())).immediate();
  }

  sinkStates(): SinkState[] {
    return this.sinks.all();
  }

  sinkCursor(name: string): number {
    return this.sinks.get(name)?.cursor ?? this.log.lastSeq;
  }

  /** Records a removed sink still owes (0 for a configured sink). */
  orphanedRecords(s: SinkState): number {
    if (s.active || s.removedAtSeq === null || s.cursor >= s.removedAtSeq) return 0;
    return this.log.countFor(s.name, s.cursor, s.removedAtSeq);
  }

  /** Forgets a removed sink and lets go of the records it owed; how many it owed. */
  dropOrphan(name: string): number {
    const s = this.sinks.get(name);
    if (!s) throw new Error(`no sink named "${name}" in ${this.file}`);
    if (s.active) throw new Error(`sink "${name}" is configured: remove it from the configuration (and restart the exporter) before dropping its backlog`);
    const owed = this.orphanedRecords(s);
    this.db.transaction(() => this.sinks.remove(name))();
    return owed;
  }

  /** The checkpoint thread's state (queue.checkpointThread), undefined when the queue has none. */
  get checkpointThread(): { up: boolean; checkpoints: number } | undefined {
    const c = this.checkpointer;
    return c && { up: c.up, checkpoints: c.checkpoints };
  }

  /** Records after afterSeq for a sink, at most maxRecords and maxBytes of JSON (but at least one). */
  readBatch(sink: string, afterSeq: number, maxRecords: number, maxBytes: number, withFacts = false): OutgoingRecord[] {
    return this.log.readBatch(sink, afterSeq, maxRecords, maxBytes, withFacts);
  }

  /**
   * Marks a batch done for a sink (delivered, filtered out, or dead-lettered) and stores its dead letters, atomically,
   * with the records every sink has now passed (transactions.ts: advanceTransaction).
   */
  advanceSink(sink: string, cursor: number, delivered: number, deadLetters: readonly NewDeadLetter[]): void {
    // On a full disk, prune() frees space in small slices with checkpoints between them: not here.
    this.advanced(this.advance(sink, cursor, delivered, deadLetters, !this.diskFull));
  }

  /** advanceSink on the writer thread when the queue has one (the caller's thread goes on meanwhile). */
  async advanceSinkAsync(sink: string, cursor: number, delivered: number, deadLetters: readonly NewDeadLetter[]): Promise<void> {
    if (!this.thread) return this.advanceSink(sink, cursor, delivered, deadLetters);
    this.advanced(await this.thread.advance(sink, cursor, delivered, deadLetters, !this.diskFull));
  }

  private advanced(r: Advanced): void {
    this.checkpointer?.committed();
    this.dropped.dead_letters_full += r.deadLettersCapped;
    this.notifyFreed(r.freed);
  }

  recordFailure(sink: string, attempts: number, error: string): void {
    this.sinks.recordFailure(sink, attempts, error, Date.now());
  }

  /** Depth per sink: records after its cursor (counts records retried for other sinks too: an upper bound). */
  depth(cursor: number): number {
    const first = this.log.firstSeq();
    if (first === null) return 0;
    return Math.max(0, this.log.lastSeq - Math.max(cursor, first - 1));
  }

  /** Exact depth for a sink (a scan; for the operations CLI). */
  exactDepth(sink: string, cursor: number): number {
    return this.log.countFor(sink, cursor);
  }

  oldestAgeMs(sink: string, cursor: number, now = Date.now()): number {
    return this.log.oldestAgeMs(sink, cursor, now);
  }

  /** Deletes records every sink has passed. Returns how many left. */
  prune(): number {
    const upTo = passedUpTo(this);
    if (upTo === null) return 0;
    const diskFull = this.diskFull;
    // In slices so one prune never holds the write lock for long; small ones while the disk is full, because each
    // slice's DELETE needs room in the WAL and a large one may not fit in what the released head-room gave back.
    const slice = diskFull ? PRUNE_SLICE_DISK_FULL : PRUNE_SLICE;
    // On a full disk the WAL may hold the last free bytes: give them back to the DELETEs first.
    if (diskFull) checkpointQuietly(this.db);
    let removed = 0;
    for (let from = this.log.firstSeq()!; from <= upTo; from += slice) {
      let f: Freed;
      try {
        f = this.log.deleteUpTo(Math.min(upTo, from + slice - 1));
      } catch (e) {
        if (!diskFull || !isDiskFull(e)) throw e;
        // Not even a slice fits: checkpoint again and let the next maintenance tick go on from here.
        checkpointQuietly(this.db);
        break;
      }
      this.log.freed(f);
      removed += f.n;
      if (diskFull) checkpointQuietly(this.db);
    }
    if (removed) for (const fn of this.freeListeners) fn();
    return removed;
  }

  /** Deletes records older than maxAge that some sink still lacked (counted in dropped.max_age). */
  enforceRetention(now = Date.now()): number {
    if (!this.opts.maxAgeMs) return 0;
    const f = this.db.transaction(() => deleteOldest(this, { cutoff: now - this.opts.maxAgeMs })).immediate();
    this.dropped.max_age += f.n;
    this.notifyFreed(f);
    return f.n;
  }

  recordCount(): number {
    return this.log.count();
  }

  // ---- dead letters ----

  /**
   * Puts dead letters of one sink back in that sink's stream (appended to the log, addressed to that sink only) and
   * removes them. Dead letters from ingest (no sink) or truncated ones cannot be retried and are left in place.
   */
  retryDeadLetters(ids: readonly number[]): { retried: number; skipped: number } {
    const r = this.db.transaction(() => retryTransaction(this, ids, Date.now())).immediate();
    this.log.committed(r.lastSeq, r.bytes);
    if (r.retried) for (const fn of this.appendListeners) fn();
    return { retried: r.retried, skipped: r.skipped };
  }

  close(): void {
    try {
      this.thread?.close();
      const closeConnection = () => {
        if (!this.db.open) return;
        if (!this.db.readonly) checkpointQuietly(this.db);
        this.db.close();
      };
      if (this.checkpointer) this.checkpointer.close(closeConnection);
      else closeConnection();
    } finally {
      if (this.lockFile) releaseLock(this.lockFile);
      this.reserve?.close();
    }
  }
}
