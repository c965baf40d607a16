// Dead letters: records a sink rejected for good, and lines refused at ingest (sink null), kept apart from the log with
// their raw bytes (capped) so an operator can list, retry (back into that sink's stream) or purge them.
import type Database from 'better-sqlite3';

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

export interface DeadLetterFilter {
  /** A sink name; "" or null selects ingest rejections. undefined: all. */
  sink?: string | null;
  reason?: string;
  limit?: number;
  afterId?: number;
}

export interface DeadLetterLimits {
  maxRawBytes: number;
  maxRecords: number;
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

function toDeadLetter(r: DeadRow): DeadLetter {
  return {
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
  };
}

function where(f: DeadLetterFilter): { sql: string; args: unknown[] } {
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

export class DeadLetterStore {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    private readonly limits: DeadLetterLimits,
  ) {
    this.s = {
      insert: db.prepare(
        'INSERT INTO dead_letters (created_at, sink, reason, error, seq, decision_id, attempts, raw, raw_truncated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      count: db.prepare('SELECT count(*) AS n FROM dead_letters'),
      pruneOldest: db.prepare('DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters ORDER BY id LIMIT ?)'),
      bySink: db.prepare('SELECT sink, count(*) AS n FROM dead_letters GROUP BY sink'),
      get: db.prepare('SELECT * FROM dead_letters WHERE id = ?'),
      del: db.prepare('DELETE FROM dead_letters WHERE id = ?'),
    };
  }

  /** Stores one (inside the caller's transaction); raw cut to the configured size. */
  add(d: NewDeadLetter, now: number): void {
    const buf = typeof d.raw === 'string' ? Buffer.from(d.raw) : d.raw;
    const max = this.limits.maxRawBytes;
    const truncated = buf.length > max;
    this.s.insert.run(
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

  /** Deletes the oldest beyond the configured count; how many. */
  cap(): number {
    const over = (this.s.count.get() as { n: number }).n - this.limits.maxRecords;
    if (over <= 0) return 0;
    this.s.pruneOldest.run(over);
    return over;
  }

  countsBySink(): Map<string | null, number> {
    const rows = this.s.bySink.all() as { sink: string | null; n: number }[];
    return new Map(rows.map((r) => [r.sink, r.n]));
  }

  list(f: DeadLetterFilter): DeadLetter[] {
    const w = where(f);
    const rows = this.db.prepare(`SELECT * FROM dead_letters ${w.sql} ORDER BY id LIMIT ?`).all(...w.args, f.limit ?? -1) as DeadRow[];
    return rows.map(toDeadLetter);
  }

  count(f: DeadLetterFilter): number {
    const w = where(f);
    return (this.db.prepare(`SELECT count(*) AS n FROM dead_letters ${w.sql}`).get(...w.args) as { n: number }).n;
  }

  /** Removes one and returns it (inside the caller's transaction); undefined if gone. */
  take(id: number): DeadLetter | undefined {
    const r = this.s.get.get(id) as DeadRow | undefined;
    if (!r) return undefined;
    this.s.del.run(id);
    return toDeadLetter(r);
  }

  get(id: number): DeadLetter | undefined {
    const r = this.s.get.get(id) as DeadRow | undefined;
    return r ? toDeadLetter(r) : undefined;
  }

  purge(ids: readonly number[]): number {
    let n = 0;
    this.db.transaction(() => {
      for (const id of ids) n += this.s.del.run(id).changes;
    })();
    return n;
  }
}
