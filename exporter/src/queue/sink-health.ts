// The running exporter's live view of its sinks, kept in the queue file so `exporter status` (another process, maybe
// while the exporter is down) can show it: each sink's health and retry state, and a heartbeat saying whether an
// exporter is still writing it. Written every few seconds and on change, never per record.
import os from 'node:os';
import type Database from 'better-sqlite3';

export interface SinkLiveRow {
  sink: string;
  /** The sink's own health (e.g. the Dapr sidecar's readiness). */
  ready: boolean;
  detail: string | null;
  up: boolean;
  /** Last send that delivered at least one record, since this exporter started. */
  lastSuccessAt: number | null;
  /** Failed attempts since the last attempt that delivered everything it sent. */
  consecutiveFailures: number;
  /** While backing off: when the next attempt starts. */
  nextRetryAt: number | null;
  updatedAt: number;
}

export interface Heartbeat {
  pid: number;
  hostname: string;
  startedAt: number;
  updatedAt: number;
  /** How often the exporter writes: what `exporter status` measures staleness against. */
  intervalMs: number;
  /** Set by a graceful shutdown. */
  stoppedAt: number | null;
}

export interface LiveState {
  heartbeat: Heartbeat | null;
  sinks: Map<string, SinkLiveRow>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sink_health (
  sink TEXT PRIMARY KEY,
  ready INTEGER NOT NULL,
  detail TEXT,
  up INTEGER NOT NULL,
  last_success_at INTEGER,
  consecutive_failures INTEGER NOT NULL,
  next_retry_at INTEGER,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS exporter_heartbeat (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  pid INTEGER NOT NULL,
  hostname TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  interval_ms INTEGER NOT NULL,
  stopped_at INTEGER
);
`;

/** Writer side, for the exporter that owns the queue. */
export class SinkHealthStore {
  private readonly upsert: Database.Statement;
  private readonly beat: Database.Statement;

  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    this.upsert = db.prepare(
      `INSERT INTO sink_health (sink, ready, detail, up, last_success_at, consecutive_failures, next_retry_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(sink) DO UPDATE SET ready = excluded.ready, detail = excluded.detail, up = excluded.up,
         last_success_at = excluded.last_success_at, consecutive_failures = excluded.consecutive_failures,
         next_retry_at = excluded.next_retry_at, updated_at = excluded.updated_at`,
    );
    this.beat = db.prepare('UPDATE exporter_heartbeat SET updated_at = ?, stopped_at = ? WHERE id = 1');
  }

  /** A new exporter takes over: its heartbeat, and rows only for the sinks it runs. */
  begin(sinks: readonly string[], intervalMs: number, now = Date.now()): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM sink_health').run();
      this.db
        .prepare(
          `INSERT INTO exporter_heartbeat (id, pid, hostname, started_at, updated_at, interval_ms, stopped_at) VALUES (1, ?, ?, ?, ?, ?, NULL)
           ON CONFLICT(id) DO UPDATE SET pid = excluded.pid, hostname = excluded.hostname, started_at = excluded.started_at,
             updated_at = excluded.updated_at, interval_ms = excluded.interval_ms, stopped_at = NULL`,
        )
        .run(process.pid, os.hostname(), now, now, intervalMs);
      for (const s of sinks) this.upsert.run(s, 0, 'starting', 0, null, 0, null, now);
    })();
  }

  /** Saves the given rows (those that changed) and the heartbeat, in one transaction. */
  write(rows: readonly Omit<SinkLiveRow, 'updatedAt'>[], now = Date.now(), stopped = false): void {
    this.db.transaction(() => {
      for (const r of rows) {
        this.upsert.run(r.sink, r.ready ? 1 : 0, r.detail, r.up ? 1 : 0, r.lastSuccessAt, r.consecutiveFailures, r.nextRetryAt, now);
      }
      this.beat.run(now, stopped ? now : null);
    })();
  }
}

/** Reader side (`exporter status`): works on a read-only handle, and on a queue no exporter of this version wrote. */
export function readLiveState(db: Database.Database): LiveState {
  const tables = new Set(
    (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('sink_health', 'exporter_heartbeat')`).all() as { name: string }[]).map(
      (r) => r.name,
    ),
  );
  const sinks = new Map<string, SinkLiveRow>();
  if (tables.has('sink_health')) {
    for (const r of db.prepare('SELECT * FROM sink_health').all() as Record<string, unknown>[]) {
      sinks.set(r['sink'] as string, {
        sink: r['sink'] as string,
        ready: r['ready'] === 1,
        detail: (r['detail'] as string | null) ?? null,
        up: r['up'] === 1,
        lastSuccessAt: (r['last_success_at'] as number | null) ?? null,
        consecutiveFailures: r['consecutive_failures'] as number,
        nextRetryAt: (r['next_retry_at'] as number | null) ?? null,
        updatedAt: r['updated_at'] as number,
      });
    }
  }
  let heartbeat: Heartbeat | null = null;
  if (tables.has('exporter_heartbeat')) {
    const r = db.prepare('SELECT * FROM exporter_heartbeat WHERE id = 1').get() as Record<string, unknown> | undefined;
    if (r) {
      heartbeat = {
        pid: r['pid'] as number,
        hostname: r['hostname'] as string,
        startedAt: r['started_at'] as number,
        updatedAt: r['updated_at'] as number,
        intervalMs: r['interval_ms'] as number,
        stoppedAt: (r['stopped_at'] as number | null) ?? null,
      };
    }
  }
  return { heartbeat, sinks };
}
