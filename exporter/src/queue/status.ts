// The queue's status as `exporter status` and the metrics show it: per sink depth, oldest age, counters, dead letters,
// the records removed sinks still hold, and the live state the running exporter saves in the file (sink health, the
// heartbeat, whether ingest is held back). Read from the file alone: works while the exporter is down.
import type Database from 'better-sqlite3';
import type { Queue } from './queue.js';
import type { StartFrom } from './sink-cursors.js';
import { readLiveState, type Heartbeat, type SinkLiveRow } from './sink-health.js';

export interface IngestHold {
  reason: 'disk full' | 'queue full' | 'pending limit';
  since: string;
}

export interface SinkStatus {
  sink: string;
  type: string;
  active: boolean;
  /** Where the sink started when it was added (null: added by an older exporter). */
  startFrom: StartFrom | null;
  /** Records to deliver; for a removed sink, those it still holds. */
  depth: number;
  /** A removed sink: the records it still holds in the queue (kept until it returns or is dropped). */
  orphaned: number;
  oldestAgeSeconds: number;
  delivered: number;
  failures: number;
  deadLetters: number;
  attempts: number;
  lastError: string | null;
  lastErrorAt: string | null;
  lastSuccessAt: string | null;
  /** What the exporter last saved about this sink; null when no exporter saved any. */
  live: SinkLive | null;
}

export interface SinkLive {
  /** The sink's own readiness (e.g. the Dapr sidecar), with why not. */
  ready: boolean;
  detail: string | null;
  /** The last attempt went through (or nothing needed sending) and the sink is ready. */
  up: boolean;
  lastSuccessAt: string | null;
  consecutiveFailures: number;
  nextRetryAt: string | null;
  updatedAt: string;
  /** The exporter is no longer writing this state (stopped, or not heard of for 3 intervals). */
  stale: boolean;
}

/** running: heard of within 3 write intervals; stopped: shut down gracefully; stale: silent (killed, stuck); unknown: never wrote. */
export type ExporterState = 'running' | 'stopped' | 'stale' | 'unknown';

export interface ExporterLive {
  state: ExporterState;
  pid: number | null;
  hostname: string | null;
  startedAt: string | null;
  updatedAt: string | null;
  /** Seconds since the exporter last wrote its state. */
  ageSeconds: number | null;
  stoppedAt: string | null;
}

export interface QueueStatus {
  queue: string;
  records: number;
  bytes: number;
  lastSeq: number;
  ingestDeadLetters: number;
  exporter: ExporterLive;
  /** Why the running exporter holds ingest back (null: it reads freely, or is not running). */
  ingestHeld: IngestHold | null;
  sinks: SinkStatus[];
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/** An exporter is considered gone after this many write intervals without a heartbeat. */
export const STALE_AFTER_INTERVALS = 3;

function exporterLive(h: Heartbeat | null, now: number): ExporterLive {
  if (!h) return { state: 'unknown', pid: null, hostname: null, startedAt: null, updatedAt: null, ageSeconds: null, stoppedAt: null };
  const age = Math.max(0, now - h.updatedAt);
  const state: ExporterState = h.stoppedAt !== null ? 'stopped' : age > STALE_AFTER_INTERVALS * h.intervalMs ? 'stale' : 'running';
  return {
    state,
    pid: h.pid,
    hostname: h.hostname,
    startedAt: iso(h.startedAt),
    updatedAt: iso(h.updatedAt),
    ageSeconds: Math.round(age / 100) / 10,
    stoppedAt: iso(h.stoppedAt),
  };
}

/** The queue as `exporter status` shows it: from the file alone, with what the running exporter saved there. */
export function queueStatus(q: Queue, now = Date.now()): QueueStatus {
  const dl = q.deadLetters.countsBySink();
  const live = readLiveState(q.db);
  const exporter = exporterLive(live.heartbeat, now);
  const hold = readIngestHold(q.db);
  return {
    queue: q.file,
    records: q.recordCount(),
    bytes: q.bytes,
    lastSeq: q.lastSeq,
    ingestDeadLetters: dl.get(null) ?? 0,
    exporter,
    ingestHeld: hold && exporter.state === 'running' ? hold : null,
    sinks: q.sinkStates().map((s) => ({
      sink: s.name,
      type: s.type,
      active: s.active,
      startFrom: s.startFrom,
      depth: s.active ? q.exactDepth(s.name, s.cursor) : q.orphanedRecords(s),
      orphaned: q.orphanedRecords(s),
      oldestAgeSeconds: Math.round(q.oldestAgeMs(s.name, s.cursor, now)) / 1000,
      delivered: s.delivered,
      failures: s.failures,
      deadLetters: dl.get(s.name) ?? 0,
      attempts: s.attempts,
      lastError: s.lastError,
      lastErrorAt: iso(s.lastErrorAt),
      lastSuccessAt: iso(s.lastSuccessAt),
      live: sinkLive(live.sinks.get(s.name), s.active, exporter.state),
    })),
  };
}

/** Records each removed sink still holds (only those holding any). */
export function orphanedBySink(q: Queue): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of q.sinkStates()) {
    const n = q.orphanedRecords(s);
    if (n) out.set(s.name, n);
  }
  return out;
}

const HOLD_KEY = 'ingest_held';

/** Saved by the running exporter when ingest stops or resumes reading (not per record). */
export function saveIngestHold(db: Database.Database, hold: IngestHold | null): void {
  if (hold) db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(HOLD_KEY, JSON.stringify(hold));
  else db.prepare('DELETE FROM meta WHERE key = ?').run(HOLD_KEY);
}

function readIngestHold(db: Database.Database): IngestHold | null {
  const r = db.prepare('SELECT value FROM meta WHERE key = ?').get(HOLD_KEY) as { value: string } | undefined;
  return r ? (JSON.parse(r.value) as IngestHold) : null;
}

function sinkLive(row: SinkLiveRow | undefined, active: boolean, exporter: ExporterState): SinkLive | null {
  if (!row || !active) return null;
  return {
    ready: row.ready,
    detail: row.detail,
    up: row.up,
    lastSuccessAt: iso(row.lastSuccessAt),
    consecutiveFailures: row.consecutiveFailures,
    nextRetryAt: iso(row.nextRetryAt),
    updatedAt: iso(row.updatedAt)!,
    stale: exporter !== 'running',
  };
}

