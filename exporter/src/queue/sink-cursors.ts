// Each sink's place in the record log (its cursor) and its delivery counters. A sink removed from the configuration
// keeps its place and the records it still owes (up to removed_at_seq): it is an orphan, holding them on disk until it
// comes back (under its name or, declared with previousNames, under a new one) or an operator drops it.
import type Database from 'better-sqlite3';
import { hasColumn } from './sqlite.js';

export type StartFrom = 'newest' | 'oldest';

export interface SinkRegistration {
  name: string;
  type: string;
  startFrom: StartFrom;
  /** Names this sink had before: their cursor (and so their backlog) moves to it. */
  previousNames?: readonly string[];
}

export interface SinkState {
  name: string;
  type: string;
  cursor: number;
  active: boolean;
  /** Where it started when it was added (null: added by an older exporter). */
  startFrom: StartFrom | null;
  /** A removed sink: the last record it still owes (null: it owes nothing, or was removed by an older exporter). */
  removedAtSeq: number | null;
  delivered: number;
  failures: number;
  deadLettered: number;
  attempts: number;
  lastError: string | null;
  lastErrorAt: number | null;
  lastSuccessAt: number | null;
  addedAt: number;
}

/** What registering the configured sinks did, for the start-up log. */
export interface Registration {
  added: { name: string; startFrom: StartFrom; cursor: number }[];
  renamed: { from: string; to: string; cursor: number }[];
  /** Sinks no longer configured that still owe records (seq in (cursor, removedAtSeq]). */
  orphaned: { name: string; cursor: number; removedAtSeq: number }[];
}

type Row = Record<string, unknown>;

function toState(r: Row): SinkState {
  return {
    name: r['name'] as string,
    type: r['type'] as string,
    cursor: r['cursor'] as number,
    active: r['active'] === 1,
    startFrom: (r['start_from'] as StartFrom | null | undefined) ?? null,
    removedAtSeq: (r['removed_at_seq'] as number | null | undefined) ?? null,
    delivered: r['delivered'] as number,
    failures: r['failures'] as number,
    deadLettered: r['dead_lettered'] as number,
    attempts: r['attempts'] as number,
    lastError: (r['last_error'] as string | null) ?? null,
    lastErrorAt: (r['last_error_at'] as number | null) ?? null,
    lastSuccessAt: (r['last_success_at'] as number | null) ?? null,
    addedAt: r['added_at'] as number,
  };
}

export class SinkCursors {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    const writable = !db.readonly;
    this.s = {
      all: db.prepare('SELECT * FROM sinks ORDER BY active DESC, name'),
      one: db.prepare('SELECT * FROM sinks WHERE name = ?'),
      advance: db.prepare(
        'UPDATE sinks SET cursor = ?, delivered = delivered + ?, dead_lettered = dead_lettered + ?, attempts = 0, last_success_at = ? WHERE name = ?',
      ),
      failure: db.prepare('UPDATE sinks SET failures = failures + 1, attempts = ?, last_error = ?, last_error_at = ? WHERE name = ?'),
      // Active sinks hold everything after their cursor; an orphan only while it still owes records.
      holdFrom:
        writable || hasColumn(db, 'sinks', 'removed_at_seq')
          ? db.prepare('SELECT min(cursor) AS m FROM sinks WHERE active = 1 OR (removed_at_seq IS NOT NULL AND cursor < removed_at_seq)')
          : db.prepare('SELECT min(cursor) AS m FROM sinks WHERE active = 1'),
    };
  }

  /**
   * Registers the configured sinks (inside the caller's transaction): a known sink resumes at its cursor; a renamed one
   * (previousNames) takes over the lowest cursor of its old names; a new one starts at the tail (startFrom newest) or at
   * the oldest stored record. Sinks no longer configured become orphans owing what was queued up to lastSeq.
   */
  register(sinks: readonly SinkRegistration[], lastSeq: number, now: number): Registration {
    const out: Registration = { added: [], renamed: [], orphaned: [] };
    const known = new Map((this.s.all.all() as Row[]).map((r) => [r['name'] as string, toState(r)]));
    const configured = new Set(sinks.map((s) => s.name));
    for (const s of sinks) {
      const own = known.get(s.name);
      const previous = (s.previousNames ?? []).map((n) => known.get(n)).filter((p): p is SinkState => !!p && !configured.has(p.name));
      if (own) {
        this.db.prepare('UPDATE sinks SET active = 1, type = ?, removed_at_seq = NULL WHERE name = ?').run(s.type, s.name);
      } else {
        const cursor = s.startFrom === 'oldest' ? 0 : lastSeq;
        this.db
          .prepare('INSERT INTO sinks (name, type, cursor, active, added_at, start_from) VALUES (?, ?, ?, 1, ?, ?)')
          .run(s.name, s.type, cursor, now, s.startFrom);
        if (!previous.length) out.added.push({ name: s.name, startFrom: s.startFrom, cursor });
      }
      if (previous.length) {
        // At least once: what the new name already delivered past the old cursor may go again.
        const cursor = Math.min(own?.cursor ?? lastSeq, ...previous.map((p) => p.cursor));
        this.db.prepare('UPDATE sinks SET cursor = ? WHERE name = ?').run(cursor, s.name);
        for (const p of previous) {
          this.db.prepare('DELETE FROM sinks WHERE name = ?').run(p.name);
          out.renamed.push({ from: p.name, to: s.name, cursor });
        }
      }
    }
    for (const [name, k] of known) {
      if (configured.has(name) || sinks.some((s) => s.previousNames?.includes(name))) continue;
      // Removed now (still active), or earlier: it owes what was queued until then and what it had not reached.
      const removedAtSeq = k.active ? lastSeq : k.removedAtSeq;
      if (k.active) this.db.prepare('UPDATE sinks SET active = 0, removed_at_seq = ? WHERE name = ?').run(removedAtSeq, name);
      if (removedAtSeq !== null && k.cursor < removedAtSeq) out.orphaned.push({ name, cursor: k.cursor, removedAtSeq });
    }
    return out;
  }

  all(): SinkState[] {
    return (this.s.all.all() as Row[]).map(toState);
  }

  get(name: string): SinkState | undefined {
    const r = this.s.one.get(name) as Row | undefined;
    return r ? toState(r) : undefined;
  }

  advance(name: string, cursor: number, delivered: number, deadLettered: number, now: number): void {
    this.s.advance.run(cursor, delivered, deadLettered, now, name);
  }

  recordFailure(name: string, attempts: number, error: string, now: number): void {
    this.s.failure.run(attempts, error.slice(0, 2000), now, name);
  }

  /** Records up to this seq are no longer needed by any sink (null: no sink holds any). */
  heldFrom(): number | null {
    return (this.s.holdFrom.get() as { m: number | null }).m;
  }

  /** Records up to upTo were deleted without delivery (retention, drop-oldest): orphans no longer owe them. */
  skipDeleted(upTo: number): void {
    this.db
      .prepare('UPDATE sinks SET cursor = min(?, removed_at_seq) WHERE active = 0 AND removed_at_seq IS NOT NULL AND cursor < ?')
      .run(upTo, upTo);
  }

  /** Forgets a sink (an orphan the operator dropped). */
  remove(name: string): void {
    this.db.prepare('DELETE FROM sinks WHERE name = ?').run(name);
  }
}
