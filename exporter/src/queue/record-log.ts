// The append-only log of records: rows numbered by seq, appended in batches, read in order for a sink, deleted from
// the oldest end. Keeps the running byte count that queue.maxBytes limits. Transactions are the caller's (the queue).
import type Database from 'better-sqlite3';
import type { OutgoingRecord } from '../sinks/sink.js';

export interface NewRecord {
  decisionId: string;
  eventType: string;
  /** The record's JSON text, or its UTF-8 bytes (ingest's line as received: stored as they are, no re-encoding). */
  json: string | Buffer;
  /** What it counts against queue.maxBytes when the caller computed it already: recordSize(json). */
  size?: number;
}

/** Per-row bookkeeping added to the JSON length when accounting the queue's size against maxBytes. */
export const ROW_OVERHEAD_BYTES = 64;
const ROWS_PER_INSERT = 100;
/** Bound per row in the multi-row INSERT: the batch's seq base, time and sink are bound once per statement. */
const ROW_ARGS = 4;
const SCAN_CHUNK = 1000;

export interface Freed {
  /** Stored bytes (as counted against maxBytes). */
  b: number;
  /** Records. */
  n: number;
}
export const NOTHING_FREED: Readonly<Freed> = { b: 0, n: 0 };

/** The JSON's length (UTF-16 units of a string, bytes of bytes) plus the per-row overhead. */
export function recordSize(json: string | Buffer): number {
  return json.length + ROW_OVERHEAD_BYTES;
}

export class RecordLog {
  private lastSeqValue = 0;
  private bytesValue = 0;
  private readonly multiArgs: unknown[] = new Array(ROWS_PER_INSERT * ROW_ARGS).fill(null);
  private readonly multiShared: { base: number; now: number; onlySink: string | null } = { base: 0, now: 0, onlySink: null };
  private readonly s;

  /** countBytes false: the running byte count is kept elsewhere (the writer thread's log: the queue keeps it). */
  constructor(
    private readonly db: Database.Database,
    o: { countBytes: boolean } = { countBytes: true },
  ) {
    this.s = {
      insert: db.prepare('INSERT INTO records (seq, received_at, size, only_sink, decision_id, event_type, json) VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TEXT))'),
      // CAST: ingest hands a line received complete over as its bytes (a Buffer), stored as TEXT without better-sqlite3
      // measuring and re-encoding a string. The shared values named: 4 arguments bound per row instead of 7. Together:
      // ingest's main thread 4.41 -> 4.05 µs per record (medians of 8 pairs; README, "A line received complete ...").
      // OR ROLLBACK: a multi-row INSERT that may abort half-way makes SQLite keep a statement journal, a copy of each
      // 64 KiB page the statement touches that the transaction had already changed, spilled to a temporary file past
      // 64 KiB. Every failure here ends the whole batch's transaction anyway. Without it: 2.3 -> 1.8 µs of CPU per
      // record for the inserts and their commit (README, issue 14's targets).
      insertMany: db.prepare(
        `INSERT OR ROLLBACK INTO records (seq, received_at, size, only_sink, decision_id, event_type, json) VALUES ${Array.from(
          { length: ROWS_PER_INSERT },
          (_, k) => `(@base + ${k + 1}, @now, ?, @onlySink, ?, ?, CAST(? AS TEXT))`,
        ).join(', ')}`,
      ),
      getLastSeq: db.prepare(`SELECT value FROM meta WHERE key = 'last_seq'`),
      setLastSeq: db.prepare(`INSERT INTO meta (key, value) VALUES ('last_seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`),
      maxSeq: db.prepare('SELECT max(seq) AS m FROM records'),
      // raw: rows as arrays, made into records below. better-sqlite3 builds a row object one named property at a
      // time: 1.5 against 1.0-1.2 µs per ~500-byte row with the arrays and an object literal each (micro-benchmark,
      // after its first, warming-up round: 2.4 against 2.0).
      readBatch: db
        .prepare('SELECT seq, decision_id, event_type, json FROM records WHERE seq > ? AND (only_sink IS NULL OR only_sink = ?) ORDER BY seq LIMIT ?')
        .raw(true),
      oldestFor: db.prepare('SELECT received_at AS t FROM records WHERE seq > ? AND (only_sink IS NULL OR only_sink = ?) ORDER BY seq LIMIT 1'),
      countFor: db.prepare('SELECT count(*) AS n FROM records WHERE seq > ? AND seq <= ? AND (only_sink IS NULL OR only_sink = ?)'),
      firstSeq: db.prepare('SELECT min(seq) AS m FROM records'),
      oldestRows: db.prepare('SELECT seq, size, received_at FROM records WHERE seq > ? ORDER BY seq LIMIT ?'),
      sumUpTo: db.prepare('SELECT coalesce(sum(size), 0) AS b, count(*) AS n FROM records WHERE seq <= ?'),
      deleteUpTo: db.prepare('DELETE FROM records WHERE seq <= ?'),
      count: db.prepare('SELECT count(*) AS n FROM records'),
      totalBytes: db.prepare('SELECT coalesce(sum(size), 0) AS b FROM records'),
    };
    this.lastSeqValue = this.storedLastSeq();
    if (o.countBytes) this.bytesValue = (this.s.totalBytes.get() as { b: number }).b;
  }

  get lastSeq(): number {
    return this.lastSeqValue;
  }
  /** Approximate stored size of the records (JSON length + per-row overhead), what maxBytes limits. */
  get bytes(): number {
    return this.bytesValue;
  }

  /**
   * The highest seq ever given, as stored (another process — `exporter dead-letters retry` — may have appended): the
   * highest row's, or meta's once the rows that held it were deleted.
   */
  storedLastSeq(): number {
    const top = (this.s.maxSeq.get() as { m: number | null }).m ?? 0;
    return Math.max(this.metaLastSeq(), top, this.lastSeqValue);
  }

  private metaLastSeq(): number {
    const meta = this.s.getLastSeq.get() as { value: string } | undefined;
    return Number(meta?.value ?? 0);
  }

  /** Inserts the records after afterSeq (the stored last seq, read in the caller's transaction); returns the last seq. */
  insert(records: readonly NewRecord[], onlySink: string | null, now: number, afterSeq: number): number {
    let seq = afterSeq;
    // Many rows per INSERT statement: about twice the rows/s of one statement per row (bench/exporter-ingest.ts).
    const args = this.multiArgs;
    const shared = this.multiShared;
    shared.now = now;
    shared.onlySink = onlySink;
    let i = 0;
    for (; i + ROWS_PER_INSERT <= records.length; i += ROWS_PER_INSERT) {
      for (let k = 0; k < ROWS_PER_INSERT; k++) {
        const r = records[i + k]!;
        const o = k * ROW_ARGS;
        args[o] = r.size ?? recordSize(r.json);
        args[o + 1] = r.decisionId;
        args[o + 2] = r.eventType;
        args[o + 3] = r.json;
      }
      shared.base = seq;
      this.s.insertMany.run(args, shared);
      seq += ROWS_PER_INSERT;
    }
    for (; i < records.length; i++) {
      const r = records[i]!;
      this.s.insert.run(++seq, now, r.size ?? recordSize(r.json), onlySink, r.decisionId, r.eventType, r.json);
    }
    args.fill(null);
    return seq;
  }

  /** After the transaction that inserted committed: the new last seq and the bytes added. */
  committed(lastSeq: number, addedBytes: number): void {
    this.lastSeqValue = Math.max(this.lastSeqValue, lastSeq);
    this.bytesValue += addedBytes;
  }

  /** After the transaction that deleted committed. */
  freed(f: Readonly<Freed>): void {
    this.bytesValue -= f.b;
  }

  /** Records after afterSeq for a sink, at most maxRecords and maxBytes of JSON (but at least one). */
  readBatch(sink: string, afterSeq: number, maxRecords: number, maxBytes: number): OutgoingRecord[] {
    const rows = this.s.readBatch.all(afterSeq, sink, maxRecords) as [number, string, string, string][];
    const out: OutgoingRecord[] = [];
    let bytes = 0;
    for (let i = 0; i < rows.length; i++) {
      const [seq, decisionId, eventType, json] = rows[i]!;
      bytes += json.length;
      if (i > 0 && bytes > maxBytes) break;
      out.push({ seq, decisionId, eventType, json });
    }
    return out;
  }

  firstSeq(): number | null {
    return (this.s.firstSeq.get() as { m: number | null }).m;
  }

  /** Records addressed to a sink with afterSeq < seq <= upToSeq (a scan). */
  countFor(sink: string, afterSeq: number, upToSeq = Number.MAX_SAFE_INTEGER): number {
    return (this.s.countFor.get(afterSeq, upToSeq, sink) as { n: number }).n;
  }

  oldestAgeMs(sink: string, afterSeq: number, now: number): number {
    const r = this.s.oldestFor.get(afterSeq, sink) as { t: number } | undefined;
    return r ? Math.max(0, now - r.t) : 0;
  }

  count(): number {
    return (this.s.count.get() as { n: number }).n;
  }

  /** Deletes every record with seq <= upTo (inside the caller's transaction); what left. */
  deleteUpTo(upTo: number): Freed {
    // The highest seq goes to meta only when its row is about to go: while it is there, max(seq) says it. Written with
    // every commit, meta's page was one more WAL page (64 KiB) per ingest commit.
    const top = (this.s.maxSeq.get() as { m: number | null }).m;
    if (top !== null && top <= upTo) this.s.setLastSeq.run(String(Math.max(top, this.metaLastSeq())));
    const s = this.s.sumUpTo.get(upTo) as Freed;
    this.s.deleteUpTo.run(upTo);
    return s;
  }

  /**
   * The last seq of the oldest run of records that adds up to needBytes, or whose records all arrived before cutoff
   * (received_at < cutoff); 0 when none.
   */
  oldestRun(until: { needBytes?: number; cutoff?: number }): number {
    let freed = 0;
    let upTo = 0;
    for (;;) {
      const rows = this.s.oldestRows.all(upTo, SCAN_CHUNK) as { seq: number; size: number; received_at: number }[];
      if (!rows.length) return upTo;
      for (const r of rows) {
        if (until.cutoff !== undefined && r.received_at >= until.cutoff) return upTo;
        freed += r.size;
        upTo = r.seq;
        if (until.needBytes !== undefined && freed >= until.needBytes) return upTo;
      }
    }
  }
}
