// The resolved, validated exporter configuration: what every other part reads.

export type OnFull = 'block' | 'drop-oldest';

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
  /** The type-specific keys, as written in the config. */
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
  };
  queue: {
    path: string;
    maxBytes: number;
    onFull: OnFull;
    synchronous: 'normal' | 'full';
    /** 0 = keep records until every sink has them. */
    maxAgeMs: number;
    deadLetterMaxRawBytes: number;
    deadLetterMaxRecords: number;
    diskReserveBytes: number;
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

export const defaults = {
  socketMode: 0o660,
  ingest: {
    maxLineBytes: 1024 * 1024,
    batchMaxRecords: 5_000,
    // Group commit: at webhook rates (a few lines per write) a commit per tick cost ~30 µs of CPU per record, ~20 with
    // this (bench/exporter-paced.ts); acks come up to this much later, and the client never waits for them.
    batchLingerMs: 10,
    maxPendingRecords: 10_000,
    maxPendingBytes: 1024 * 1024,
    ackBufferBytes: 64 * 1024,
    maxConnections: 1024,
    // 32 lines at the default maxLineBytes: ample for the engine's one connection, far under the chart's memory limit.
    maxPartialBytes: 32 * 1024 * 1024,
    // The engine's client reconnects by itself; a closed idle connection costs it a reconnect.
    idleTimeoutMs: 10 * 60_000,
  },
  queue: {
    maxBytes: 1024 ** 3,
    onFull: 'block' as OnFull,
    synchronous: 'full' as 'normal' | 'full',
    maxAgeMs: 0,
    deadLetterMaxRawBytes: 64 * 1024,
    deadLetterMaxRecords: 100_000,
    diskReserveBytes: 8 * 1024 * 1024,
    statusIntervalMs: 5000,
  },
  batch: { maxRecords: 1000, maxBytes: 4 * 1024 * 1024, lingerMs: 50 },
  retry: { initialMs: 200, multiplier: 2, maxMs: 30_000, jitter: 0.2, maxAttempts: 5 },
  logLevel: 'info',
  shutdownTimeoutMs: 10_000,
  shutdownDrain: false,
};
