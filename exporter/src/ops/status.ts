// `exporter status`: per-sink depth, oldest age, delivered, last error and dead letters, read straight from the queue file
// (works while the exporter is down, and while it runs: SQLite WAL allows a concurrent reader), and the live state the
// running exporter saves there (sink health, up/down, retries), with how fresh it is.
import { Queue } from '../queue/queue.js';
import { readLiveState, type Heartbeat, type SinkLiveRow } from '../queue/sink-health.js';
import { defaults } from '../config/config.js';
import { formatBytes } from '../config/units.js';

export interface SinkStatus {
  sink: string;
  type: string;
  active: boolean;
  depth: number;
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

export function openQueueForOps(file: string, readonly: boolean): Queue {
  return new Queue(file, { ...defaults.queue }, { owner: false, readonly });
}

export function queueStatus(file: string): QueueStatus {
  const q = openQueueForOps(file, true);
  try {
    const dl = q.deadLetterCounts();
    const now = Date.now();
    const live = readLiveState(q.db);
    const exporter = exporterLive(live.heartbeat, now);
    return {
      queue: q.file,
      records: q.recordCount(),
      bytes: q.bytes,
      lastSeq: q.lastSeq,
      ingestDeadLetters: dl.get(null) ?? 0,
      exporter,
      sinks: q.sinkStates().map((s) => ({
        sink: s.name,
        type: s.type,
        active: s.active,
        depth: q.exactDepth(s.name, s.cursor),
        oldestAgeSeconds: Math.round(q.oldestAgeMs(s.name, s.cursor, now)) / 1000,
        delivered: s.delivered,
        failures: s.failures,
        deadLetters: dl.get(s.name) ?? 0,
        attempts: s.attempts,
        lastError: s.lastError,
        lastErrorAt: s.lastErrorAt ? new Date(s.lastErrorAt).toISOString() : null,
        lastSuccessAt: s.lastSuccessAt ? new Date(s.lastSuccessAt).toISOString() : null,
        live: sinkLive(live.sinks.get(s.name), s.active, exporter.state),
      })),
    };
  } finally {
    q.close();
  }
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

function seconds(s: number): string {
  if (s < 60) return `${Math.round(s * 10) / 10}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

function exporterLine(e: ExporterLive): string {
  const who = `pid ${e.pid} on ${e.hostname}`;
  switch (e.state) {
    case 'running':
      return `exporter: running (${who}, since ${e.startedAt}; state saved ${seconds(e.ageSeconds!)} ago)`;
    case 'stopped':
      return `exporter: stopped at ${e.stoppedAt} (${who}); the sink states below are from then`;
    case 'stale':
      return `exporter: not reporting for ${seconds(e.ageSeconds!)} (${who}): down or stuck; the sink states below are stale`;
    default:
      return 'exporter: no live state in this queue (no exporter of this version has run on it)';
  }
}

function stateCell(l: SinkLive | null): string {
  if (!l) return '-';
  const word = !l.ready ? 'not ready' : l.up ? 'up' : 'down';
  return l.stale ? `${word} (stale)` : word;
}

/** One line under the table for a sink that is not simply up: why, and when it is tried next. */
function liveDetail(k: SinkStatus, now: number): string | undefined {
  const l = k.live;
  if (!l || (l.ready && l.up && l.consecutiveFailures === 0)) return undefined;
  const parts: string[] = [];
  if (l.detail) parts.push(l.detail);
  if (l.consecutiveFailures) parts.push(`${l.consecutiveFailures} failed attempt${l.consecutiveFailures === 1 ? '' : 's'} in a row`);
  if (l.nextRetryAt && !l.stale) parts.push(`next attempt in ${seconds(Math.max(0, Date.parse(l.nextRetryAt) - now) / 1000)}`);
  parts.push(`last success ${l.lastSuccessAt ?? 'none since the exporter started'}`);
  return `  ${k.sink}: ${parts.join('; ')}`;
}

export function formatStatus(s: QueueStatus, now = Date.now()): string {
  const rows = [['SINK', 'TYPE', 'STATE', 'DEPTH', 'OLDEST', 'DELIVERED', 'DEAD LETTERS', 'LAST ERROR']];
  for (const k of s.sinks) {
    rows.push([
      k.active ? k.sink : `${k.sink} (removed)`,
      k.type,
      stateCell(k.live),
      String(k.depth),
      k.depth ? `${k.oldestAgeSeconds}s` : '-',
      String(k.delivered),
      String(k.deadLetters),
      k.lastError ? `${k.lastErrorAt} ${k.lastError.slice(0, 80)}` : '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
  const details = s.sinks.map((k) => liveDetail(k, now)).filter((d): d is string => d !== undefined);
  return [
    `queue ${s.queue}: ${s.records} records, ${formatBytes(s.bytes)}, ${s.ingestDeadLetters} rejected at ingest`,
    exporterLine(s.exporter),
    table,
    ...details,
    '',
  ].join('\n');
}

/**
 * What `exporter status --exit-code` fails on: no exporter running on the queue, an active sink down or not ready,
 * or dead letters of an active sink. Empty: healthy.
 */
export function statusProblems(s: QueueStatus): string[] {
  const out: string[] = [];
  if (s.exporter.state !== 'running') out.push(`exporter ${s.exporter.state === 'unknown' ? 'never reported on this queue' : s.exporter.state}`);
  for (const k of s.sinks) {
    if (!k.active) continue;
    if (k.live && !k.live.stale) {
      if (!k.live.ready) out.push(`sink ${k.sink} not ready${k.live.detail ? `: ${k.live.detail}` : ''}`);
      else if (!k.live.up) out.push(`sink ${k.sink} down${k.lastError ? `: ${k.lastError.slice(0, 200)}` : ''}`);
    }
    if (k.deadLetters) out.push(`sink ${k.sink} has ${k.deadLetters} dead letter${k.deadLetters === 1 ? '' : 's'}`);
  }
  return out;
}
