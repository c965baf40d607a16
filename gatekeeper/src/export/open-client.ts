// Opens the exporter's client (exporter/src/client) on its Unix socket and adapts it to RecordSender: records are
// buffered in memory (or spilled to a file) until the exporter acknowledges them, and resent after a reconnect.
import { ExportClient, type ExportClientStats } from '@gk-exporter/exporter/client';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { RecordSender } from './decision-export.js';

export interface ClientSettings {
  /** Records held in memory until acknowledged; past it: spill (with spillPath) or drop, counted. */
  bufferRecords?: number;
  bufferBytes?: number;
  /** Spill file used when the memory buffer is full (replayed by the next process with the same path). */
  spillPath?: string;
  spillMaxBytes?: number;
  /** On shutdown, how long to wait for the exporter to acknowledge what was sent. */
  flushTimeoutMs: number;
  registry?: Registry;
}

export class ClientSender implements RecordSender {
  constructor(
    readonly client: ExportClient,
    private readonly settings: ClientSettings,
    private readonly logger: Logger,
    readonly bufferRecords: number,
  ) {}

  send(record: object | string): void {
    this.client.send(record);
  }

  stats(): ExportClientStats {
    return this.client.stats();
  }

  /** Resolves once everything sent is acknowledged (or the timeout passed): the audit's back-pressure. */
  flush(timeoutMs: number): Promise<boolean> {
    return this.client.flush(timeoutMs);
  }

  /** Waits (up to the flush timeout) for the exporter's acknowledgements, then closes; resolves whether all were acknowledged. */
  async close(): Promise<boolean> {
    const drained = await this.client.flush(this.settings.flushTimeoutMs);
    const s = this.client.stats();
    if (!drained) this.logger.warn({ buffered: s.buffered, spilled: s.spilled }, 'the exporter did not acknowledge every record before shutdown');
    const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
    this.logger.info({ accepted: s.accepted, acked: s.acked, dropped: s.dropped, resent: s.resent, reconnects: s.reconnects }, 'export client closed');
    if (dropped) this.logger.warn({ dropped: s.dropped }, 'records were dropped by the export client');
    await this.client.close();
    return drained;
  }
}

export const DEFAULT_BUFFER_RECORDS = 10_000;

export function openRecordSender(socketPath: string, logger: Logger, settings: ClientSettings): ClientSender {
  const bufferRecords = settings.bufferRecords ?? DEFAULT_BUFFER_RECORDS;
  const client = new ExportClient({
    socketPath,
    buffer: { maxRecords: bufferRecords, ...(settings.bufferBytes ? { maxBytes: settings.bufferBytes } : {}) },
    ...(settings.spillPath
      ? { onFull: 'spill' as const, spill: { path: settings.spillPath, ...(settings.spillMaxBytes ? { maxBytes: settings.spillMaxBytes } : {}) } }
      : {}),
    ...(settings.registry ? { registry: settings.registry } : {}),
    logger,
  });
  return new ClientSender(client, settings, logger, bufferRecords);
}
