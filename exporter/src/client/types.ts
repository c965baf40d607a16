// The client's options, counters and the interface the engine holds: one place, read by client.ts, metrics.ts and the
// no-op client (so none of them import each other).

export type OnFullPolicy = 'drop-newest' | 'spill';

export interface ExportClientOptions {
  /** The exporter's Unix socket. */
  socketPath: string;
  buffer?: {
    /** Records kept in memory (sent, not yet acknowledged, or waiting to be sent). Default 10,000. */
    maxRecords?: number;
    /** Bytes of those records. Default 16 MiB. */
    maxBytes?: number;
  };
  /** What happens when the buffer is full: drop the new record (counted) or append it to the spill file. Default: spill when spill.path is given, else drop-newest. */
  onFull?: OnFullPolicy;
  spill?: {
    /** Required with onFull: spill. One file per process (locked; it is replayed by the next process with the same path). */
    path: string;
    /** Default 256 MiB; past it records are dropped (reason spill_full). */
    maxBytes?: number;
  };
  /** Longest line sent; larger records are dropped (reason too_large). Match the exporter's ingest.maxLineBytes. Default 1 MiB. */
  maxLineBytes?: number;
  reconnect?: {
    /** Default 100 ms. */
    initialMs?: number;
    /** Default 5000 ms. */
    maxMs?: number;
    /** Default 2. */
    multiplier?: number;
    /** Fraction of random spread, 0..1. Default 0.2. */
    jitter?: number;
  };
  /** Bytes per socket write (one write per tick up to this, then the next). Default 256 KiB. */
  maxWriteBytes?: number;
  /**
   * After a small write (under 32 lines), the next waits until this many ms after it, gathering what is sent meanwhile:
   * the exporter then wakes once for several reviews' records rather than once per review. At higher rates every
   * tick's records are written at once, as with 0. Default 10.
   */
  writeHoldMs?: number;
  /** At most one warning per this many ms about dropped records (with the counts since the last one). Default 10,000. */
  dropLogIntervalMs?: number;
  /** prom-client registry to expose the counters on (names: proto-docs/client.md). */
  registry?: import('prom-client').Registry;
  /** Metric name prefix. Default "exporter_client_". */
  metricPrefix?: string;
  logger?: import('pino').Logger;
}

export type DropReason = 'buffer_full' | 'spill_full' | 'too_large' | 'unserializable' | 'closed' | 'shutdown';

export const DROP_REASONS: readonly DropReason[] = ['buffer_full', 'spill_full', 'too_large', 'unserializable', 'closed', 'shutdown'];

export interface ExportClientStats {
  /** send() calls that were accepted (into the buffer or the spill file). */
  accepted: number;
  /** Lines written to a socket, resends included. */
  sent: number;
  /** Lines written again after a reconnect. */
  resent: number;
  /** Lines the exporter acknowledged (durably stored, or stored as dead letters). */
  acked: number;
  /** Lines the exporter answered with an error line (they are acknowledged too, as dead letters), by reason. */
  rejected: Record<string, number>;
  dropped: Record<DropReason, number>;
  /** Records in memory now, and their bytes; and how many records the memory buffer holds at most. */
  buffered: number;
  bufferedBytes: number;
  bufferCapacity: number;
  /** Records spilled and not yet read back, and the spill file's unread bytes. */
  spilled: number;
  spillBytes: number;
  reconnects: number;
  connected: boolean;
}

export interface CloseOptions {
  /** Wait up to this long for the exporter to acknowledge what is buffered and spilled before closing. Default 0. */
  flushTimeoutMs?: number;
}

/** What the engine holds: a real client, or the no-op one when export is not configured. */
export interface ExportSender {
  /** false for the no-op client: callers may skip building records altogether. */
  readonly enabled: boolean;
  /** Queue one record (an object, or a JSON line without its newline). Never throws, never blocks. */
  send(record: object | string): void;
  /** Resolves true once everything sent so far is acknowledged, false if timeoutMs passed first. */
  flush(timeoutMs: number): Promise<boolean>;
  stats(): ExportClientStats;
  /**
   * Stops reconnecting and closes the socket, after waiting up to flushTimeoutMs for acknowledgements. Records not
   * acknowledged by then are kept in the spill file when there is one (replayed by the next process), else counted as
   * dropped (shutdown). Resolves whether everything was acknowledged.
   */
  close(opts?: CloseOptions): Promise<boolean>;
}
