// `exporter status`: per-sink depth, oldest age, delivered, last error and dead letters, read straight from the queue file
// (works while the exporter is down, and while it runs: SQLite WAL allows a concurrent reader).
import { Queue } from '../queue/queue.js';
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
}

export interface QueueStatus {
  queue: string;
  records: number;
  bytes: number;
  lastSeq: number;
  ingestDeadLetters: number;
  sinks: SinkStatus[];
}

export function openQueueForOps(file: string, readonly: boolean): Queue {
  return new Queue(file, { ...defaults.queue }, { owner: false, readonly });
}

export function queueStatus(file: string): QueueStatus {
  const q = openQueueForOps(file, true);
  try {
    const dl = q.deadLetterCounts();
    const now = Date.now();
    return {
      queue: q.file,
      records: q.recordCount(),
      bytes: q.bytes,
      lastSeq: q.lastSeq,
      ingestDeadLetters: dl.get(null) ?? 0,
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
      })),
    };
  } finally {
    q.close();
  }
}

export function formatStatus(s: QueueStatus): string {
  const rows = [['SINK', 'TYPE', 'DEPTH', 'OLDEST', 'DELIVERED', 'DEAD LETTERS', 'LAST ERROR']];
  for (const k of s.sinks) {
    rows.push([
      k.active ? k.sink : `${k.sink} (removed)`,
      k.type,
      String(k.depth),
      k.depth ? `${k.oldestAgeSeconds}s` : '-',
      String(k.delivered),
      String(k.deadLetters),
      k.lastError ? `${k.lastErrorAt} ${k.lastError.slice(0, 80)}` : '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
  return `queue ${s.queue}: ${s.records} records, ${formatBytes(s.bytes)}, ${s.ingestDeadLetters} rejected at ingest\n${table}\n`;
}
