// The resolved, validated exporter configuration: what every other part reads. Every key is present (defaults.ts);
// a duration written `x` in the file is `xMs` here, in milliseconds, and a size is in bytes.
import type { QueueOptions } from '../queue/options.js';

export type { OnFull } from '../queue/options.js';

export interface BatchConfig {
  maxRecords: number;
  maxBytes: number;
  lingerMs: number;
}

export interface RetryConfig {
  initialMs: number;
  multiplier: number;
  maxMs: number;
  /** Fraction (0..1) by which each delay is randomly spread, up or down. */
  jitter: number;
  /** Attempts before a permanently failing record goes to dead letters. */
  maxAttempts: number;
}

export interface SinkConfig {
  name: string;
  type: string;
  startFrom: 'newest' | 'oldest';
  /** Names this sink was configured under before: their queued backlog moves to it. */
  previousNames: string[];
  batch: BatchConfig;
  retry: RetryConfig;
  /** The type-specific keys, defaulted and resolved like the others (see the type's config.ts). */
  [key: string]: unknown;
}

export interface ExporterConfig {
  socket: string;
  socketMode: number;
  ingest: {
    maxLineBytes: number;
    batchMaxRecords: number;
    batchLingerMs: number;
    maxPendingRecords: number;
    /** Bytes of the lines read but not yet committed; with maxPendingRecords, what the exporter holds in memory. */
    maxPendingBytes: number;
    ackBufferBytes: number;
    maxConnections: number;
    /** Bytes of unterminated lines held across all connections; past it the connection holding the largest is cut. */
    maxPartialBytes: number;
    /** A connection silent this long with nothing uncommitted is closed; 0 = never. */
    idleTimeoutMs: number;
    /** Per-record validation at ingest (record.md#validation): basic invariants, or the whole record schema too. */
    validate: 'basic' | 'full';
  };
  queue: Required<QueueOptions> & {
    path: string;
    /** How often the running exporter saves its sinks' live state into the queue for `exporter status`. */
    statusIntervalMs: number;
  };
  sinks: SinkConfig[];
  metrics: { address?: string };
  log: { level: string };
  shutdownTimeoutMs: number;
  /** On SIGTERM, keep delivering until every sink's backlog is empty or shutdownTimeout passed (for a queue that does not outlive the pod). */
  shutdownDrain: boolean;
}
