// @gk-exporter/exporter/client: what the policy engine imports to stream decision records to the exporter sidecar.
// Protocol: proto-docs/transport.md and proto-docs/acks.md; records: proto-docs/record.md.
import { ExportClient, type ExportClientOptions, type ExportClientStats, type ExportSender } from './client.js';

export { ExportClient, type ExportClientOptions, type ExportClientStats, type ExportSender, type DropReason, type OnFullPolicy } from './client.js';
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
  dropped: { buffer_full: 0, spill_full: 0, too_large: 0, unserializable: 0, closed: 0, shutdown: 0 },
  buffered: 0,
  bufferedBytes: 0,
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
  close: async () => {},
});

/** A connected ExportClient when options with a socketPath are given; the no-op client otherwise. */
export function createExportClient(opts: ExportClientOptions | undefined | null): ExportSender {
  if (!opts || !opts.socketPath) return noopExportClient;
  return new ExportClient(opts);
}
