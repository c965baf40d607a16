// The client's counters on a prom-client registry, read from stats() at scrape time (nothing is done per record).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ExportClientStats } from './types.js';

export function registerClientMetrics(registry: Registry, prefix: string, stats: () => ExportClientStats): void {
  const counter = (name: string, help: string, value: (s: ExportClientStats) => number) =>
    new Counter({
      name: prefix + name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value(stats()));
      },
    });
  const labelled = (name: string, help: string, label: string, value: (s: ExportClientStats) => Record<string, number>) =>
    new Counter({
      name: prefix + name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        this.reset();
        for (const [k, v] of Object.entries(value(stats()))) this.inc({ [label]: k }, v);
      },
    });
  const gauge = (name: string, help: string, value: (s: ExportClientStats) => number) =>
    new Gauge({
      name: prefix + name,
      help,
      registers: [registry],
      collect() {
        this.set(value(stats()));
      },
    });

  counter('records_accepted_total', 'Records taken by send() (into the buffer or the spill file).', (s) => s.accepted);
  counter('records_sent_total', 'Lines written to the exporter socket, resends included.', (s) => s.sent);
  counter('records_resent_total', 'Lines written again after a reconnect.', (s) => s.resent);
  counter('records_acked_total', 'Lines the exporter acknowledged as durably handled.', (s) => s.acked);
  labelled('records_rejected_total', 'Lines the exporter rejected (kept by it as dead letters), by reason.', 'reason', (s) => s.rejected);
  labelled('records_dropped_total', 'Records the client dropped, by reason (buffer_full, spill_full, too_large, unserializable, closed, shutdown).', 'reason', (s) => s.dropped);
  gauge('buffered_records', 'Records in the memory buffer (unsent or unacknowledged).', (s) => s.buffered);
  gauge('buffered_bytes', 'Bytes of the records in the memory buffer.', (s) => s.bufferedBytes);
  gauge('spilled_records', 'Records in the spill file, not yet read back.', (s) => s.spilled);
  gauge('spill_bytes', 'Unread bytes of the spill file.', (s) => s.spillBytes);
  counter('reconnects_total', 'Connections made to the exporter after the first.', (s) => s.reconnects);
  gauge('connected', '1 while connected to the exporter.', (s) => (s.connected ? 1 : 0));
}
