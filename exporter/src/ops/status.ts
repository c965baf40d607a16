// `exporter status`: per-sink depth, oldest age, delivered, last error and dead letters, read straight from the queue file
// (works while the exporter is down, and while it runs: SQLite WAL allows a concurrent reader), and the live state the
// running exporter saves there (sink health, up/down, retries), with how fresh it is.
import { Queue } from '../queue/queue.js';
import { queueStatus as snapshot, type ExporterLive, type QueueStatus, type SinkLive, type SinkStatus } from '../queue/status.js';
import { defaultQueueOptions } from '../config/resolve.js';
import { formatBytes } from '../config/units.js';

export type { ExporterLive, ExporterState, QueueStatus, SinkLive, SinkStatus } from '../queue/status.js';

export function openQueueForOps(file: string, readonly: boolean): Queue {
  return new Queue(file, defaultQueueOptions(), { owner: false, readonly });
}

export function queueStatus(file: string): QueueStatus {
  const q = openQueueForOps(file, true);
  try {
    return snapshot(q);
  } finally {
    q.close();
  }
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

const holdWhy = {
  'disk full': 'the disk holding the queue is full; lines wait unread and unacknowledged until space frees',
  'queue full': 'the queue is at queue.maxBytes; lines wait unread and unacknowledged until sinks free space',
  'pending limit': 'ingest.maxPendingRecords/maxPendingBytes of read lines await their commit; reading resumes under half',
} as const;

const orphanLine = (k: SinkStatus) =>
  `  ${k.sink}: removed from the configuration, still holds ${k.orphaned} queued record${k.orphaned === 1 ? '' : 's'}; ` +
  `add it back, declare a rename with previousNames: [${k.sink}], or drop them with \`exporter sinks drop ${k.sink}\``;

export function formatStatus(s: QueueStatus, now = Date.now()): string {
  const rows = [['SINK', 'TYPE', 'STATE', 'DEPTH', 'OLDEST', 'DELIVERED', 'DEAD LETTERS', 'START', 'LAST ERROR']];
  for (const k of s.sinks) {
    rows.push([
      k.active ? k.sink : `${k.sink} (removed)`,
      k.type,
      k.active ? stateCell(k.live) : k.orphaned ? 'orphaned' : '-',
      String(k.depth),
      k.depth ? `${k.oldestAgeSeconds}s` : '-',
      String(k.delivered),
      String(k.deadLetters),
      k.startFrom ?? '-',
      k.lastError ? `${k.lastErrorAt} ${k.lastError.slice(0, 80)}` : '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
  const details = s.sinks.map((k) => liveDetail(k, now)).filter((d): d is string => d !== undefined);
  return [
    `queue ${s.queue}: ${s.records} records, ${formatBytes(s.bytes)}, ${s.ingestDeadLetters} rejected at ingest`,
    exporterLine(s.exporter),
    ...(s.ingestHeld ? [`ingest: held back since ${s.ingestHeld.since} (${holdWhy[s.ingestHeld.reason]})`] : []),
    table,
    ...details,
    ...s.sinks.filter((k) => k.orphaned).map(orphanLine),
    '',
  ].join('\n');
}

/**
 * What `exporter status --exit-code` fails on: no exporter running on the queue, ingest held back, an active sink down
 * or not ready, dead letters of an active sink, or a removed sink still holding records. Empty: healthy.
 */
export function statusProblems(s: QueueStatus): string[] {
  const out: string[] = [];
  if (s.exporter.state !== 'running') out.push(`exporter ${s.exporter.state === 'unknown' ? 'never reported on this queue' : s.exporter.state}`);
  if (s.ingestHeld) out.push(`ingest held back since ${s.ingestHeld.since}: ${s.ingestHeld.reason}`);
  for (const k of s.sinks) {
    if (k.orphaned) out.push(`removed sink ${k.sink} still holds ${k.orphaned} queued records`);
    if (!k.active) continue;
    if (k.live && !k.live.stale) {
      if (!k.live.ready) out.push(`sink ${k.sink} not ready${k.live.detail ? `: ${k.live.detail}` : ''}`);
      else if (!k.live.up) out.push(`sink ${k.sink} down${k.lastError ? `: ${k.lastError.slice(0, 200)}` : ''}`);
    }
    if (k.deadLetters) out.push(`sink ${k.sink} has ${k.deadLetters} dead letter${k.deadLetters === 1 ? '' : 's'}`);
  }
  return out;
}
