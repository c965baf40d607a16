// The durable queue: one append-only log of records (SQLite, WAL), a cursor per sink, dead letters in their own table,
// per-sink delivery state persisted so `exporter status` can read it from the file while the exporter is down.
// Records leave the disk once every active sink's cursor has passed them (or by capacity / retention policy).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { OutgoingRecord } from '../sinks/sink.js';
import type { OnFull } from '../config/config.js';

/** Per-row bookkeeping added to the JSON length when accounting the queue's size against maxBytes. */
export const ROW_OVERHEAD_BYTES = 64;
const ROWS_PER_INSERT = 100;
/** Records deleted per write transaction when pruning, so one prune never holds the write lock for long. */
const PRUNE_SLICE = 20_000;
const NOTHING_FREED: Readonly<{ b: number; n: number }> = { b: 0, n: 0 };

export interface QueueOptions {
  maxBytes: number;
  onFull: OnFull;
  synchronous: 'normal' | 'full';
  maxAgeMs: number;
  deadLetterMaxRawBytes: number;
  deadLetterMaxRecords: number;
  /** Bytes kept in a reserve file beside the queue, released when the disk fills so sinks can still advance and prune. */
  diskReserveBytes?: number;
}

export interface NewRecord {
  decisionId: string;
  eventType: string;
  json: string;
}

export interface NewDeadLetter {
  /** null: rejected at ingest (belongs to no sink). */
  sink: string | null;
  reason: string;
  error: string;
  raw: Buffer | string;
  seq?: number;
  decisionId?: string;
  attempts?: number;
}

export interface DeadLetter {
  id: number;
  createdAt: number;
  sink: string | null;
  reason: string;
  error: string;
  seq: number | null;
  decisionId: string | null;
  attempts: number;
  raw: string;
  rawTruncated: boolean;
}

export interface SinkState {
  name: string;
  type: string;
  cursor: number;
  active: boolean;
  delivered: number;
  failures: number;
  deadLettered: number;
  attempts: number;
  lastError: string | null;
  lastErrorAt: number | null;
  lastSuccessAt: number | null;
  addedAt: number;
}

export interface DropCounts {
  queue_full: number;
  max_age: number;
  dead_letters_full: number;
}

export class QueueLockedError extends Error {}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
  seq INTEGER PRIMARY KEY,
  received_at INTEGER NOT NULL,
  size INTEGER NOT NULL,
  only_sink TEXT,
  decision_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  json TEXT NOT NULL
);
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

function isDiskFull(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN';
}

export class QueueFullError extends Error {
  constructor(readonly diskFull: boolean, cause?: unknown) {
    super(diskFull ? `the disk holding the queue is full: ${(cause as Error)?.message ?? ''}` : 'the queue is at its capacity (queue.maxBytes)', { cause });
  }
}

type DeadRow = {
  id: number;
  created_at: number;
  sink: string | null;
  reason: string;
  error: string;
  seq: number | null;
  decision_id: string | null;
  attempts: number;
  raw: Buffer;
  raw_truncated: number;
};

export interface DeadLetterFilter {
  /** A sink name; "" or null selects ingest rejections. undefined: all. */
  sink?: string | null;
  reason?: string;
  limit?: number;
  afterId?: number;
}

export class Queue {
  readonly db: Database.Database;
  readonly file: string;
  private readonly lockFile: string | undefined;
  private readonly reserveFile: string | undefined;
  private reserveReleased = false;
  private lastSeqValue = 0;
  private bytesValue = 0;
  readonly dropped: DropCounts = { queue_full: 0, max_age: 0, dead_letters_full: 0 };
  private appendListeners = new Set<() => void>();
  private freeListeners = new Set<() => void>();
  private stmts!: ReturnType<Queue['prepare']>;
  private readonly multiArgs: unknown[] = new Array(ROWS_PER_INSERT * 7).fill(null);

  /**
   * Opens (creating if needed) the queue. `owner`: this process runs the exporter on it (takes a lock file so two
   * exporters never share one queue); otherwise a reader for the operations CLI.
   */
  constructor(
    file: string,
    readonly opts: QueueOptions,
    mode: { owner: boolean; readonly?: boolean } = { owner: true },
  ) {
    this.file = path.resolve(file);
    if (mode.owner) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      this.lockFile = `${this.file}.lock`;
      takeLock(this.lockFile);
      if (opts.diskReserveBytes) this.reserveFile = `${this.file}.reserve`;
    } else if (!fs.existsSync(this.file)) {
      throw new Error(`no queue at ${this.file}`);
    }
    try {
      this.db = new Database(this.file, { readonly: mode.readonly ?? false, fileMustExist: !mode.owner });
      this.db.pragma('busy_timeout = 5000');
      if (!mode.readonly) {
        // Large pages: ~500-byte rows insert about twice as fast as with the 4 KiB default (bench/exporter-ingest.ts).
        // Only takes effect on a new file.
        this.db.pragma('page_size = 65536');
        this.db.pragma('journal_mode = WAL');
        // Checkpoint every 64 pages (4 MiB) and cut the WAL back to 4 MiB afterwards: a small WAL is what lets a full
        // disk recover (the reserve file covers a checkpoint).
        this.db.pragma('wal_autocheckpoint = 64');
        this.db.pragma(`journal_size_limit = ${4 * 1024 * 1024}`);
        this.db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
        // A 2 MiB page cache (better-sqlite3's build defaults to 16 MB): an ingest commit writes fresh pages and delivery
        // reads the newest ones, so a larger cache mostly holds pages nobody reads again, as resident memory
        // (bench/exporter-ingest.ts: 8-14 MB less peak RSS; CPU per record within the noise of the shared machine).
        this.db.pragma('cache_size = -2048');
        this.db.exec(SCHEMA);
      }
      this.stmts = this.prepare();
      const meta = this.db.prepare(`SELECT value FROM meta WHERE key = 'last_seq'`).get() as { value: string } | undefined;
      const maxSeq = (this.db.prepare('SELECT max(seq) AS m FROM records').get() as { m: number | null }).m ?? 0;
      this.lastSeqValue = Math.max(Number(meta?.value ?? 0), maxSeq);
      this.bytesValue = (this.db.prepare('SELECT coalesce(sum(size), 0) AS b FROM records').get() as { b: number }).b;
      if (this.reserveFile && !this.restoreReserve()) this.reserveReleased = true;
    } catch (e) {
      if (this.lockFile) releaseLock(this.lockFile);
      throw e;
    }
  }

  private prepare() {
    const db = this.db;
    return {
      insert: db.prepare('INSERT INTO records (seq, received_at, size, only_sink, decision_id, event_type, json) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      insertMany: db.prepare(
        `INSERT INTO records (seq, received_at, size, only_sink, decision_id, event_type, json) VALUES ${Array(ROWS_PER_INSERT).fill('(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      ),
      getLastSeq: db.prepare(`SELECT value FROM meta WHERE key = 'last_seq'`),
      setLastSeq: db.prepare(`INSERT INTO meta (key, value) VALUES ('last_seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`),
      insertDead: db.prepare(
        'INSERT INTO dead_letters (created_at, sink, reason, error, seq, decision_id, attempts, raw, raw_truncated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      readBatch: db.prepare(
        'SELECT seq, decision_id AS decisionId, event_type AS eventType, json FROM records WHERE seq > ? AND (only_sink IS NULL OR only_sink = ?) ORDER BY seq LIMIT ?',
      ),
      oldestFor: db.prepare('SELECT received_at AS t FROM records WHERE seq > ? AND (only_sink IS NULL OR only_sink = ?) ORDER BY seq LIMIT 1'),
      firstSeq: db.prepare('SELECT min(seq) AS m FROM records'),
      minActiveCursor: db.prepare('SELECT min(cursor) AS m FROM sinks WHERE active = 1'),
      oldestRows: db.prepare('SELECT seq, size, received_at FROM records WHERE seq > ? ORDER BY seq LIMIT ?'),
      sumUpTo: db.prepare('SELECT coalesce(sum(size), 0) AS b, count(*) AS n FROM records WHERE seq <= ?'),
      deleteUpTo: db.prepare('DELETE FROM records WHERE seq <= ?'),
      advance: db.prepare(
        'UPDATE sinks SET cursor = ?, delivered = delivered + ?, dead_lettered = dead_lettered + ?, attempts = 0, last_success_at = ? WHERE name = ?',
      ),
      failure: db.prepare('UPDATE sinks SET failures = failures + 1, attempts = ?, last_error = ?, last_error_at = ? WHERE name = ?'),
      deadCount: db.prepare('SELECT count(*) AS n FROM dead_letters'),
      pruneDead: db.prepare('DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters ORDER BY id LIMIT ?)'),
    };
  }

  get lastSeq(): number {
    return this.lastSeqValue;
  }
  /** Approximate stored size of the records (JSON length + per-row overhead), what maxBytes limits. */
  get bytes(): number {
    return this.bytesValue;
  }
  freeBytes(): number {
    return Math.max(0, this.opts.maxBytes - this.bytesValue);
  }

  /** True while the disk is full: the reserve is spent and ingest waits until sinks free space. */
  get diskFull(): boolean {
    return this.reserveReleased;
  }

  private releaseReserve(): void {
    if (!this.reserveFile) return;
    this.reserveReleased = true;
    fs.rmSync(this.reserveFile, { force: true });
  }

  /** Space inside the database file that deleted records left (reused before the file grows). */
  private internalFreeBytes(): number {
    const pages = this.db.pragma('freelist_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    return pages * size;
  }

  /** Recreates the reserve file (after a checkpoint gave space back); false if the disk still lacks the room. */
  private restoreReserve(): boolean {
    if (!this.reserveFile) return true;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      const st = fs.statSync(this.reserveFile, { throwIfNoEntry: false });
      if (!st || st.size < this.opts.diskReserveBytes!) {
        // Only with room to spare: a reserve that takes exactly the space sinks freed would leave none for the next
        // commit's WAL, which would fail, release the reserve, and repeat for ever.
        const fsStat = fs.statfsSync(path.dirname(this.reserveFile));
        if (fsStat.bavail * fsStat.bsize < 2 * this.opts.diskReserveBytes!) {
          fs.rmSync(this.reserveFile, { force: true });
          return false;
        }
        const fd = fs.openSync(this.reserveFile, 'w');
        try {
          // Written 64 KiB at a time: one zeroed buffer of the whole reserve (8 MiB) stayed in the process's RSS.
          const zeros = Buffer.alloc(64 * 1024);
          for (let left = this.opts.diskReserveBytes!; left > 0; left -= zeros.length) fs.writeSync(fd, zeros, 0, Math.min(zeros.length, left));
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
      this.reserveReleased = false;
      return true;
    } catch {
      fs.rmSync(this.reserveFile, { force: true });
      return false;
    }
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

  static recordSize(json: string): number {
    return json.length + ROW_OVERHEAD_BYTES;
  }

  /**
   * Commits one ingest batch (records and ingest rejections) in a single transaction.
   * With onFull=drop-oldest, oldest records are deleted first to make room (counted in dropped.queue_full).
   * Throws QueueFullError when the disk is full (nothing of the batch is stored then).
   */
  appendBatch(records: readonly NewRecord[], rejects: readonly NewDeadLetter[], onlySink: string | null = null): { firstSeq: number } {
    if (this.reserveReleased && !this.restoreReserve() && this.internalFreeBytes() < this.opts.diskReserveBytes!) {
      throw new QueueFullError(true, new Error('waiting for sinks to free space'));
    }
    const now = Date.now();
    let size = 0;
    for (const r of records) size += Queue.recordSize(r.json);
    let firstSeq = 0;
    let seq = this.lastSeqValue;
    let droppedNow = 0;
    let freedNow = 0;
    const tx = this.db.transaction(() => {
      // `exporter dead-letters retry` may have appended from another process.
      const stored = Number((this.stmts.getLastSeq.get() as { value: string } | undefined)?.value ?? 0);
      if (stored > seq) seq = stored;
      firstSeq = seq + 1;
      // Many rows per INSERT statement: about twice the rows/s of one statement per row (bench/exporter-ingest.ts).
      const insert = this.stmts.insert;
      const multi = this.stmts.insertMany;
      const args = this.multiArgs;
      let i = 0;
      for (; i + ROWS_PER_INSERT <= records.length; i += ROWS_PER_INSERT) {
        for (let k = 0; k < ROWS_PER_INSERT; k++) {
          const r = records[i + k]!;
          const o = k * 7;
          args[o] = ++seq;
          args[o + 1] = now;
          args[o + 2] = Queue.recordSize(r.json);
          args[o + 3] = onlySink;
          args[o + 4] = r.decisionId;
          args[o + 5] = r.eventType;
          args[o + 6] = r.json;
        }
        multi.run(args);
      }
      for (; i < records.length; i++) {
        const r = records[i]!;
        insert.run(++seq, now, Queue.recordSize(r.json), onlySink, r.decisionId, r.eventType, r.json);
      }
      args.fill(null);
      if (records.length) this.stmts.setLastSeq.run(String(seq));
      // After the insert, so a batch larger than the free space (or than the whole capacity) is cut down too.
      if (this.opts.onFull === 'drop-oldest' && this.bytesValue + size > this.opts.maxBytes) {
        const r = this.dropOldest(this.bytesValue + size - this.opts.maxBytes);
        droppedNow = r.n;
        freedNow = r.bytes;
      }
      for (const d of rejects) this.insertDeadLetter(d, now);
    });
    try {
      tx();
    } catch (e) {
      if (isDiskFull(e)) {
        this.releaseReserve();
        throw new QueueFullError(true, e);
      }
      throw e;
    }
    this.lastSeqValue = seq;
    this.bytesValue += size - freedNow;
    this.dropped.queue_full += droppedNow;
    if (rejects.length) this.capDeadLetters();
    if (records.length) for (const fn of this.appendListeners) fn();
    return { firstSeq };
  }

  private dropOldest(needBytes: number): { n: number; bytes: number } {
    let freed = 0;
    let n = 0;
    let upTo = 0;
    let after = 0;
    while (freed < needBytes) {
      const rows = this.stmts.oldestRows.all(after, 1000) as { seq: number; size: number }[];
      if (!rows.length) break;
      for (const r of rows) {
        freed += r.size;
        n++;
        upTo = r.seq;
        if (freed >= needBytes) break;
      }
      after = upTo;
    }
    if (upTo) this.stmts.deleteUpTo.run(upTo);
    return { n, bytes: freed };
  }

  private insertDeadLetter(d: NewDeadLetter, now: number): void {
    const buf = typeof d.raw === 'string' ? Buffer.from(d.raw) : d.raw;
    const max = this.opts.deadLetterMaxRawBytes;
    const truncated = buf.length > max;
    this.stmts.insertDead.run(
      now,
      d.sink,
      d.reason,
      d.error.slice(0, 2000),
      d.seq ?? null,
      d.decisionId ?? null,
      d.attempts ?? 0,
      truncated ? buf.subarray(0, max) : buf,
      truncated ? 1 : 0,
    );
  }

  private capDeadLetters(): void {
    const n = (this.stmts.deadCount.get() as { n: number }).n;
    const over = n - this.opts.deadLetterMaxRecords;
    if (over > 0) {
      this.stmts.pruneDead.run(over);
      this.dropped.dead_letters_full += over;
    }
  }

  // ---- sinks ----

  /**
   * Registers the configured sinks: a new sink starts at the tail (startFrom newest) or at the oldest stored record;
   * a known sink resumes at its cursor; sinks no longer configured are marked inactive so they stop holding records.
   */
  registerSinks(sinks: readonly { name: string; type: string; startFrom: 'newest' | 'oldest' }[]): void {
    const now = Date.now();
    const tx = this.db.transaction(() => {
      this.db.prepare('UPDATE sinks SET active = 0').run();
      for (const s of sinks) {
        const existing = this.db.prepare('SELECT name FROM sinks WHERE name = ?').get(s.name);
        if (existing) {
          this.db.prepare('UPDATE sinks SET active = 1, type = ? WHERE name = ?').run(s.type, s.name);
        } else {
          const cursor = s.startFrom === 'oldest' ? 0 : this.lastSeqValue;
          this.db.prepare('INSERT INTO sinks (name, type, cursor, active, added_at) VALUES (?, ?, ?, 1, ?)').run(s.name, s.type, cursor, now);
        }
      }
    });
    tx();
  }

  sinkStates(): SinkState[] {
    const rows = this.db.prepare('SELECT * FROM sinks ORDER BY active DESC, name').all() as Record<string, unknown>[];
    return rows.map((r) => ({
      name: r['name'] as string,
      type: r['type'] as string,
      cursor: r['cursor'] as number,
      active: r['active'] === 1,
      delivered: r['delivered'] as number,
      failures: r['failures'] as number,
      deadLettered: r['dead_lettered'] as number,
      attempts: r['attempts'] as number,
      lastError: (r['last_error'] as string | null) ?? null,
      lastErrorAt: (r['last_error_at'] as number | null) ?? null,
      lastSuccessAt: (r['last_success_at'] as number | null) ?? null,
      addedAt: r['added_at'] as number,
    }));
  }

  sinkCursor(name: string): number {
    const r = this.db.prepare('SELECT cursor FROM sinks WHERE name = ?').get(name) as { cursor: number } | undefined;
    return r?.cursor ?? this.lastSeqValue;
  }

  /** Records after afterSeq for a sink, at most maxRecords and maxBytes of JSON (but at least one). */
  readBatch(sink: string, afterSeq: number, maxRecords: number, maxBytes: number): OutgoingRecord[] {
    // The rows are the records (columns named as OutgoingRecord's fields): no copy per record.
    const rows = this.stmts.readBatch.all(afterSeq, sink, maxRecords) as OutgoingRecord[];
    let bytes = 0;
    for (let i = 0; i < rows.length; i++) {
      bytes += rows[i]!.json.length;
      if (i > 0 && bytes > maxBytes) {
        rows.length = i;
        break;
      }
    }
    return rows;
  }

  /**
   * Marks a batch done for a sink (delivered, filtered out, or dead-lettered) and stores its dead letters, atomically.
   * The records every active sink has now passed leave in the same transaction (up to PRUNE_SLICE of them; prune()
   * does the rest): one write transaction, one fsync, per delivered batch instead of two.
   */
  advanceSink(sink: string, cursor: number, delivered: number, deadLetters: readonly NewDeadLetter[]): void {
    const now = Date.now();
    let freed: Readonly<{ b: number; n: number }> = NOTHING_FREED;
    const tx = this.db.transaction((andPrune: boolean) => {
      for (const d of deadLetters) this.insertDeadLetter(d, now);
      this.stmts.advance.run(cursor, delivered, deadLetters.length, now, sink);
      freed = andPrune ? this.deletePassed(PRUNE_SLICE) : NOTHING_FREED;
    });
    // On a full disk, prune() frees space in small slices with checkpoints between them: not here.
    const andPrune = !this.reserveReleased;
    try {
      tx(andPrune);
    } catch (e) {
      if (!andPrune || !isDiskFull(e)) throw e;
      freed = NOTHING_FREED;
      tx(false);
    }
    if (deadLetters.length) this.capDeadLetters();
    if (freed.n) {
      this.bytesValue -= freed.b;
      for (const fn of this.freeListeners) fn();
    }
  }

  /** Deletes up to maxRows of the oldest records every active sink has passed (inside the caller's transaction). */
  private deletePassed(maxRows: number): { b: number; n: number } {
    const upTo = (this.stmts.minActiveCursor.get() as { m: number | null }).m ?? this.lastSeqValue;
    const first = (this.stmts.firstSeq.get() as { m: number | null }).m;
    if (first === null || first > upTo) return NOTHING_FREED;
    const to = Math.min(upTo, first + maxRows - 1);
    const s = this.stmts.sumUpTo.get(to) as { b: number; n: number };
    this.stmts.deleteUpTo.run(to);
    return s;
  }

  recordFailure(sink: string, attempts: number, error: string): void {
    this.stmts.failure.run(attempts, error.slice(0, 2000), Date.now(), sink);
  }

  /** Depth per sink: records after its cursor (counts records retried for other sinks too: an upper bound). */
  depth(cursor: number): number {
    const first = (this.stmts.firstSeq.get() as { m: number | null }).m;
    if (first === null) return 0;
    return Math.max(0, this.lastSeqValue - Math.max(cursor, first - 1));
  }

  /** Exact depth for a sink (a scan; for the operations CLI). */
  exactDepth(sink: string, cursor: number): number {
    return (
      this.db.prepare('SELECT count(*) AS n FROM records WHERE seq > ? AND (only_sink IS NULL OR only_sink = ?)').get(cursor, sink) as {
        n: number;
      }
    ).n;
  }

  oldestAgeMs(sink: string, cursor: number, now = Date.now()): number {
    const r = this.stmts.oldestFor.get(cursor, sink) as { t: number } | undefined;
    return r ? Math.max(0, now - r.t) : 0;
  }

  private checkpointQuietly(): void {
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // a reader holds the WAL or the disk refused; the next call tries again
    }
  }

  /** Deletes records every active sink has passed. Returns how many left. */
  prune(): number {
    const r = this.stmts.minActiveCursor.get() as { m: number | null };
    const upTo = r.m ?? this.lastSeqValue;
    const first = (this.stmts.firstSeq.get() as { m: number | null }).m;
    if (first === null || first > upTo) return 0;
    let removed = 0;
    // In slices so one prune never holds the write lock for long; small ones while the disk is full, because each
    // slice's DELETE needs room in the WAL and a large one may not fit in what the released reserve gave back.
    const diskFull = this.reserveReleased;
    const slice = diskFull ? 1_000 : PRUNE_SLICE;
    // On a full disk the WAL may hold the last free bytes: give them back to the DELETEs first (64 KiB pages make the
    // automatic checkpoint threshold far larger than a small volume).
    if (diskFull) this.checkpointQuietly();
    for (let from = first; from <= upTo; from += slice) {
      const to = Math.min(upTo, from + slice - 1);
      const s = this.stmts.sumUpTo.get(to) as { b: number; n: number };
      try {
        this.stmts.deleteUpTo.run(to);
      } catch (e) {
        if (!diskFull || !isDiskFull(e)) throw e;
        // Not even a slice fits: checkpoint again and let the next maintenance tick go on from here.
        this.checkpointQuietly();
        break;
      }
      this.bytesValue -= s.b;
      removed += s.n;
      if (diskFull) this.checkpointQuietly();
    }
    if (removed) for (const fn of this.freeListeners) fn();
    return removed;
  }

  /** Deletes records older than maxAge that some sink still lacked (counted in dropped.max_age). */
  enforceRetention(now = Date.now()): number {
    if (!this.opts.maxAgeMs) return 0;
    const cutoff = now - this.opts.maxAgeMs;
    let upTo = 0;
    let after = 0;
    let n = 0;
    let bytes = 0;
    for (;;) {
      const rows = this.stmts.oldestRows.all(after, 1000) as { seq: number; size: number; received_at: number }[];
      let stop = !rows.length;
      for (const r of rows) {
        if (r.received_at >= cutoff) {
          stop = true;
          break;
        }
        upTo = r.seq;
        n++;
        bytes += r.size;
      }
      if (stop) break;
      after = upTo;
    }
    if (!upTo) return 0;
    this.stmts.deleteUpTo.run(upTo);
    this.bytesValue -= bytes;
    this.dropped.max_age += n;
    for (const fn of this.freeListeners) fn();
    return n;
  }

  recordCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n;
  }

  // ---- dead letters ----

  deadLetterCounts(): Map<string | null, number> {
    const rows = this.db.prepare('SELECT sink, count(*) AS n FROM dead_letters GROUP BY sink').all() as { sink: string | null; n: number }[];
    return new Map(rows.map((r) => [r.sink, r.n]));
  }

  private deadWhere(f: DeadLetterFilter): { sql: string; args: unknown[] } {
    const parts: string[] = [];
    const args: unknown[] = [];
    if (f.sink !== undefined) {
      if (f.sink === null || f.sink === '') parts.push('sink IS NULL');
      else {
        parts.push('sink = ?');
        args.push(f.sink);
      }
    }
    if (f.reason !== undefined) {
      parts.push('reason = ?');
      args.push(f.reason);
    }
    if (f.afterId !== undefined) {
      parts.push('id > ?');
      args.push(f.afterId);
    }
    return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', args };
  }

  listDeadLetters(f: DeadLetterFilter): DeadLetter[] {
    const w = this.deadWhere(f);
    const rows = this.db
      .prepare(`SELECT * FROM dead_letters ${w.sql} ORDER BY id LIMIT ?`)
      .all(...w.args, f.limit ?? -1) as DeadRow[];
    return rows.map((r) => ({
      id: r.id,
      createdAt: r.created_at,
      sink: r.sink,
      reason: r.reason,
      error: r.error,
      seq: r.seq,
      decisionId: r.decision_id,
      attempts: r.attempts,
      raw: Buffer.from(r.raw).toString('utf8'),
      rawTruncated: r.raw_truncated === 1,
    }));
  }

  countDeadLetters(f: DeadLetterFilter): number {
    const w = this.deadWhere(f);
    return (this.db.prepare(`SELECT count(*) AS n FROM dead_letters ${w.sql}`).get(...w.args) as { n: number }).n;
  }

  /**
   * Puts dead letters of one sink back in that sink's stream (appended to the log, addressed to that sink only) and removes them.
   * Dead letters from ingest (no sink) or truncated ones cannot be retried and are left in place.
   */
  retryDeadLetters(ids: readonly number[]): { retried: number; skipped: number } {
    let retried = 0;
    let skipped = 0;
    const get = this.db.prepare('SELECT * FROM dead_letters WHERE id = ?');
    const del = this.db.prepare('DELETE FROM dead_letters WHERE id = ?');
    const tx = this.db.transaction(() => {
      let seq = this.lastSeqValueFromDb();
      const now = Date.now();
      for (const id of ids) {
        const r = get.get(id) as DeadRow | undefined;
        if (!r) continue;
        if (r.sink === null || r.raw_truncated) {
          skipped++;
          continue;
        }
        const json = Buffer.from(r.raw).toString('utf8');
        this.stmts.insert.run(++seq, now, Queue.recordSize(json), r.sink, r.decision_id ?? '', eventTypeOf(json), json);
        this.bytesValue += Queue.recordSize(json);
        del.run(id);
        retried++;
      }
      this.stmts.setLastSeq.run(String(seq));
      this.lastSeqValue = seq;
    });
    tx.immediate();
    if (retried) for (const fn of this.appendListeners) fn();
    return { retried, skipped };
  }

  private lastSeqValueFromDb(): number {
    const meta = this.db.prepare(`SELECT value FROM meta WHERE key = 'last_seq'`).get() as { value: string } | undefined;
    const maxSeq = (this.db.prepare('SELECT max(seq) AS m FROM records').get() as { m: number | null }).m ?? 0;
    return Math.max(Number(meta?.value ?? 0), maxSeq, this.lastSeqValue);
  }

  purgeDeadLetters(ids: readonly number[]): number {
    const del = this.db.prepare('DELETE FROM dead_letters WHERE id = ?');
    let n = 0;
    this.db.transaction(() => {
      for (const id of ids) n += del.run(id).changes;
    })();
    return n;
  }

  close(): void {
    try {
      if (this.db.open) {
        if (!this.db.readonly) {
          try {
            this.db.pragma('wal_checkpoint(TRUNCATE)');
          } catch {
            // another reader holds the WAL; the checkpoint happens next time
          }
        }
        this.db.close();
      }
    } finally {
      if (this.lockFile) releaseLock(this.lockFile);
      if (this.reserveFile) fs.rmSync(this.reserveFile, { force: true });
    }
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

/** A pid lock file next to the queue: refuses a second exporter on the same queue, replaces a stale lock. */
function takeLock(file: string): void {
  for (let i = 0; i < 2; i++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(file, 'utf8').trim());
      if (pid && pid !== process.pid && processAlive(pid)) {
        throw new QueueLockedError(`the queue ${file.replace(/\.lock$/, '')} is in use by another exporter (pid ${pid}, lock file ${file})`);
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new QueueLockedError(`could not take the lock ${file}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseLock(file: string): void {
  try {
    if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file, { force: true });
  } catch {
    // already gone
  }
}
