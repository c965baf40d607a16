// The append-only log of records, numbered by seq: appended in batches, read in order for a sink, deleted from the
// oldest end. A row holds a run of consecutive records received together (up to RECORDS_PER_ROW of them), so SQLite
// inserts, reads and deletes one row per run instead of one per record. Keeps the running byte count that queue.maxBytes
// limits. Transactions are the caller's (the queue).
import type Database from 'better-sqlite3';
import type { OutgoingRecord, RecordFacts } from '../sinks/sink.js';
import { DAMAGED_ROW_HINT, parseArray, rowProblem } from './row-check.js';

export interface NewRecord {
  decisionId: string;
  eventType: string;
  /** The record's JSON text on one line, or its UTF-8 bytes (ingest's line as received: stored as they are, no re-encoding). */
  json: string | Buffer;
  /** What it counts against queue.maxBytes when the caller computed it already: recordSize(json, facts). */
  size?: number;
  /** What the sinks' routing reads of it, as JSON (routing/facts.ts); stored in its row's facts column. */
  facts?: string | undefined;
}

/** Per-record bookkeeping added to the JSON length when accounting the queue's size against maxBytes. */
export const ROW_OVERHEAD_BYTES = 64;
/** Records in a row at most, and their JSON's bytes at most (a row always holds at least one). */
export const RECORDS_PER_ROW = 128;
const ROW_MAX_BYTES = 256 * 1024;
/** Rows read per statement while filling a sink's batch. */
const READ_ROWS = 16;
const SCAN_CHUNK = 1000;

export interface Freed {
  /** Stored bytes (as counted against maxBytes). */
  b: number;
  /** Records. */
  n: number;
}
export const NOTHING_FREED: Readonly<Freed> = { b: 0, n: 0 };

/** The JSON's length (UTF-16 units of a string, bytes of bytes) and its routing facts', plus the per-row overhead. */
export function recordSize(json: string | Buffer, facts?: string): number {
  return json.length + (facts?.length ?? 0) + ROW_OVERHEAD_BYTES;
}

export class RecordLog {
  private lastSeqValue = 0;
  private bytesValue = 0;
  private readonly s;
  private writes: ReturnType<typeof prepareWrites> | undefined;
  private scratchBuffer: Buffer | undefined;
  /** A row's lines (at most ROW_MAX_BYTES of JSON and their newlines): one buffer reused, not one allocated per row. */
  private readonly scratch = () => (this.scratchBuffer ??= Buffer.allocUnsafe(ROW_MAX_BYTES + RECORDS_PER_ROW));

  /** countBytes false: the running byte count is kept elsewhere (the writer thread's log: the queue keeps it). */
  constructor(
    private readonly db: Database.Database,
    o: { countBytes: boolean } = { countBytes: true },
  ) {
    this.s = {
      getLastSeq: db.prepare(`SELECT value FROM meta WHERE key = 'last_seq'`),
      maxSeq: db.prepare('SELECT max(last_seq) AS m FROM records'),
      readRows: readRows(db, 'first_seq, last_seq, keys, json'),
      readRowsWithFacts: readRows(db, 'first_seq, last_seq, keys, json, facts'),
      oldestFor: db.prepare('SELECT received_at AS t FROM records WHERE last_seq > ? AND (only_sink IS NULL OR only_sink = ?) ORDER BY last_seq LIMIT 1'),
      // The records of each row inside (after, upTo]: a row's seqs are consecutive.
      countFor: db.prepare(
        'SELECT coalesce(sum(min(last_seq, @upTo) - max(first_seq, @after + 1) + 1), 0) AS n FROM records WHERE last_seq > @after AND first_seq <= @upTo AND (only_sink IS NULL OR only_sink = @sink)',
      ),
      firstSeq: db.prepare('SELECT first_seq AS m FROM records ORDER BY last_seq LIMIT 1'),
      oldestRows: db.prepare('SELECT last_seq AS seq, size, received_at FROM records WHERE last_seq > ? ORDER BY last_seq LIMIT ?'),
      sumUpTo: db.prepare('SELECT coalesce(sum(size), 0) AS b, coalesce(sum(last_seq - first_seq + 1), 0) AS n FROM records WHERE last_seq <= ?'),
      count: db.prepare('SELECT coalesce(sum(last_seq - first_seq + 1), 0) AS n FROM records'),
      totalBytes: db.prepare('SELECT coalesce(sum(size), 0) AS b FROM records'),
    };
    this.lastSeqValue = this.storedLastSeq();
    if (o.countBytes) this.bytesValue = (this.s.totalBytes.get() as { b: number }).b;
  }

  /** Prepared on first use: a read-only handle on a file in the per-record format reads a view (db.ts), never writes. */
  private get w(): ReturnType<typeof prepareWrites> {
    return (this.writes ??= prepareWrites(this.db));
  }

  get lastSeq(): number {
    return this.lastSeqValue;
  }
  /** Approximate stored size of the records (JSON length + per-record overhead), what maxBytes limits. */
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

  /**
   * Inserts the records after afterSeq (the stored last seq, read in the caller's transaction), a row per run of up to
   * RECORDS_PER_ROW of them; returns the last seq. Each record's JSON is one line (ingest splits on newlines; JSON text
   * from a serialiser has none).
   */
  insert(records: readonly NewRecord[], onlySink: string | null, now: number, afterSeq: number): number {
    let seq = afterSeq;
    for (let i = 0; i < records.length; ) {
      let end = i;
      let jsonBytes = 0;
      let size = 0;
      let allBytes = true;
      let anyFacts = false;
      const keys: string[] = [];
      for (; end < records.length && end - i < RECORDS_PER_ROW; end++) {
        const r = records[end]!;
        if (end > i && jsonBytes + r.json.length > ROW_MAX_BYTES) break;
        jsonBytes += r.json.length;
        size += r.size ?? recordSize(r.json, r.facts);
        if (typeof r.json === 'string') allBytes = false;
        if (r.facts !== undefined) anyFacts = true;
        keys.push(r.decisionId, r.eventType);
      }
      const facts = anyFacts ? factsColumn(records, i, end) : null;
      this.w.insert.run(seq + end - i, seq + 1, now, size, onlySink, JSON.stringify(keys), lines(records, i, end, allBytes, this.scratch), facts);
      seq += end - i;
      i = end;
    }
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

  /**
   * Records after afterSeq for a sink, at most maxRecords and maxBytes of JSON (but at least one); withFacts: with the
   * facts stored for the sinks' routing (OutgoingRecord.facts), for a sink whose routing reads them.
   */
  readBatch(sink: string, afterSeq: number, maxRecords: number, maxBytes: number, withFacts = false): OutgoingRecord[] {
    const out: OutgoingRecord[] = [];
    let bytes = 0;
    const read = withFacts ? this.s.readRowsWithFacts : this.s.readRows;
    for (let after = afterSeq; ; ) {
      const rows = read.all(after, sink, READ_ROWS) as [number, number, string, string, string | null | undefined][];
      for (const [firstSeq, lastSeq, keysText, text, factsText] of rows) {
        const jsons = text.split('\n');
        const keys = parseArray(keysText) as string[] | null;
        const facts = factsText ? (parseArray(factsText) as (RecordFacts | null)[] | null) : undefined;
        const problem = rowProblem(firstSeq, lastSeq, jsons.length, keys?.length ?? -1, facts === undefined ? undefined : (facts?.length ?? -1));
        if (problem) throw new Error(`${problem} (${DAMAGED_ROW_HINT})`);
        // Only the first row may start at or before afterSeq (a sink's batch may end inside a row).
        for (let k = Math.max(0, afterSeq + 1 - firstSeq); k < jsons.length; k++) {
          const json = jsons[k]!;
          bytes += json.length;
          if (out.length > 0 && bytes > maxBytes) return out;
          const f = facts?.[k];
          const decisionId = keys![2 * k]!;
          const eventType = keys![2 * k + 1]!;
          out.push(f ? { seq: firstSeq + k, decisionId, eventType, json, facts: f } : { seq: firstSeq + k, decisionId, eventType, json });
          if (out.length >= maxRecords) return out;
        }
        after = lastSeq;
      }
      if (rows.length < READ_ROWS) return out;
    }
  }

  firstSeq(): number | null {
    return (this.s.firstSeq.get() as { m: number } | undefined)?.m ?? null;
  }

  /** Records addressed to a sink with afterSeq < seq <= upToSeq (a scan). */
  countFor(sink: string, afterSeq: number, upToSeq = Number.MAX_SAFE_INTEGER): number {
    return (this.s.countFor.get({ after: afterSeq, upTo: upToSeq, sink }) as { n: number }).n;
  }

  oldestAgeMs(sink: string, afterSeq: number, now: number): number {
    const r = this.s.oldestFor.get(afterSeq, sink) as { t: number } | undefined;
    return r ? Math.max(0, now - r.t) : 0;
  }

  count(): number {
    return (this.s.count.get() as { n: number }).n;
  }

  /** Deletes the rows whose records all have seq <= upTo (inside the caller's transaction); what left. */
  deleteUpTo(upTo: number): Freed {
    // The highest seq goes to meta only when its row is about to go: while it is there, max(last_seq) says it. Written
    // with every commit, meta's page was one more WAL page (64 KiB) per ingest commit.
    const top = (this.s.maxSeq.get() as { m: number | null }).m;
    if (top !== null && top <= upTo) this.w.setLastSeq.run(String(Math.max(top, this.metaLastSeq())));
    const s = this.s.sumUpTo.get(upTo) as Freed;
    this.w.deleteUpTo.run(upTo);
    return s;
  }

  /**
   * The last seq of the oldest run of rows that adds up to needBytes, or whose records all arrived before cutoff
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

/** A sink's rows after a seq (its own and everyone's), these columns, as arrays (better-sqlite3 builds a row object one named property at a time). */
function readRows(db: Database.Database, columns: string) {
  return db.prepare(`SELECT ${columns} FROM records WHERE last_seq > ? AND (only_sink IS NULL OR only_sink = ?) ORDER BY last_seq LIMIT ?`).raw(true);
}

function prepareWrites(db: Database.Database) {
  return {
    // CAST: ingest hands lines received complete over as their bytes, concatenated into a Buffer, stored as TEXT
    // without better-sqlite3 measuring and re-encoding a string (README, "A line received complete ...").
    // OR ROLLBACK: every failure here ends the whole batch's transaction anyway; SQLite keeps no statement journal.
    insert: db.prepare('INSERT OR ROLLBACK INTO records (last_seq, first_seq, received_at, size, only_sink, keys, json, facts) VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?)'),
    setLastSeq: db.prepare(`INSERT INTO meta (key, value) VALUES ('last_seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`),
    deleteUpTo: db.prepare('DELETE FROM records WHERE last_seq <= ?'),
  };
}

/** The row's facts column: a JSON array of each record's facts (null for a record without). */
function factsColumn(records: readonly NewRecord[], from: number, end: number): string {
  let text = '[';
  for (let i = from; i < end; i++) text += (i > from ? ',' : '') + (records[i]!.facts ?? 'null');
  return text + ']';
}

/**
 * The JSON of records[from..end) one per line: the bytes copied into `scratch` when all are bytes (better-sqlite3 copies
 * a bound Buffer, so one scratch buffer serves every row), else joined as a string.
 */
function lines(records: readonly NewRecord[], from: number, end: number, allBytes: boolean, scratch: () => Buffer): string | Buffer {
  if (end - from === 1) return records[from]!.json;
  if (allBytes) {
    const into = scratch();
    let at = 0;
    for (let i = from; i < end; i++) {
      if (i > from) into[at++] = 0x0a;
      at += (records[i]!.json as Buffer).copy(into, at);
    }
    return into.subarray(0, at);
  }
  let text = '';
  for (let i = from; i < end; i++) {
    const json = records[i]!.json;
    text += (i > from ? '\n' : '') + (typeof json === 'string' ? json : json.toString());
  }
  return text;
}
