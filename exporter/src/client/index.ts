// @gk-exporter/exporter/client: what the policy engine imports to stream decision records to the exporter sidecar.
// Protocol: proto-docs/transport.md and proto-docs/acks.md; records: proto-docs/record.md.
import { ExportClient } from './client.js';
import { DROP_REASONS, type DropReason, type ExportClientOptions, type ExportClientStats, type ExportSender } from './types.js';

export { ExportClient, DEFAULT_WRITE_HOLD_MS } from './client.js';
export { DROP_REASONS, type CloseOptions, type ExportClientOptions, type ExportClientStats, type ExportSender, type DropReason, type OnFullPolicy } from './types.js';
export * from '../record/builders.js';
export { newDecisionId, decisionIdTime } from '../record/id.js';
export { SCHEMA_VERSION } from '../record/schema.js';
export { EVENT_TYPES, type DecisionRecord, type EventType, type RecordSource, type ViolationSummary, type AuditTotals } from '../record/types.js';

const ZERO_STATS: ExportClientStats = Object.freeze({
  accepted: 0,
  sent: 0,
  resent: 0,
  acked: 0,
  rejected: {},
  dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
  buffered: 0,
  bufferedBytes: 0,
  bufferCapacity: 0,
  spilled: 0,
  spillBytes: 0,
  reconnects: 0,
  connected: false,
}) as ExportClientStats;

/** The client used when export is not configured: every call returns at once and nothing is allocated per record. */
export const noopExportClient: ExportSender = Object.freeze({
  enabled: false,
  send(): void {},
  flush: async () => true,
  stats: () => ZERO_STATS,
  close: async () => true,
});

/** A connected ExportClient when options with a socketPath are given; the no-op client otherwise. */
export function createExportClient(opts: ExportClientOptions | undefined | null): ExportSender {
  if (!opts || !opts.socketPath) return noopExportClient;
  return new ExportClient(opts);
}
