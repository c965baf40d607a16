// Every Prometheus metric the exporter exposes. Names are a contract: the Helm chart's alerts use them.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Label used for dead letters that belong to no sink (rejected at ingest). */
export const INGEST_LABEL = '_ingest';

const EVENT_LOOP_SAMPLE_MS = 1000;

export interface QueueView {
  capacityBytes(): number;
  bytes(): number;
  perSink(): { sink: string; depth: number; oldestAgeSeconds: number; up: boolean }[];
  deadLetters(): Map<string | null, number>;
  dropped(): Record<string, number>;
  connections(): number;
  full(): boolean;
  /** Records each sink removed from the configuration still holds in the queue (none: empty map). */
  orphaned(): Map<string, number>;
}

export class ExporterMetrics {
  readonly registry = new Registry();
  readonly received: Counter;
  readonly rejected: Counter<'reason'>;
  readonly delivered: Counter<'sink'>;
  readonly deliveryFailures: Counter<'sink'>;
  readonly deadLettered: Counter<'sink'>;
  readonly filtered: Counter<'sink'>;
  readonly ingestCommitSeconds: Histogram;
  readonly ingestBatchRecords: Histogram;
  readonly ackLatencySeconds: Histogram;
  readonly deliverySeconds: Histogram<'sink'>;
  /** Ingest's defences against local clients (exporter/src/ingest/guard.ts). */
  readonly connectionsClosed: Counter<'reason'>;
  readonly partialBytes: Gauge;

  constructor(view: QueueView) {
    const registers = [this.registry];
    // prom-client samples event-loop delay with a libuv timer every 10 ms by default: 100 wake-ups a second, about half
    // of an idle exporter's CPU. Once a second still catches every stall longer than that.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    this.received = new Counter({
      name: 'exporter_records_received_total',
      help: 'Lines received on the socket (blank lines excluded), accepted or rejected.',
      registers,
    });
    this.rejected = new Counter({
      name: 'exporter_records_rejected_total',
      help: 'Lines rejected at ingest and stored as dead letters, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.delivered = new Counter({
      name: 'exporter_records_delivered_total',
      help: 'Records a sink acknowledged.',
      labelNames: ['sink'],
      registers,
    });
    this.deliveryFailures = new Counter({
      name: 'exporter_delivery_failures_total',
      help: 'Failed delivery attempts (a whole batch, or single records within one).',
      labelNames: ['sink'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'exporter_records_dead_lettered_total',
      help: 'Records a sink refused for good, moved to dead letters after retry.maxAttempts.',
      labelNames: ['sink'],
      registers,
    });
    this.filtered = new Counter({
      name: 'exporter_records_filtered_total',
      help: "Records a sink's filter left out (counted as done for that sink).",
      labelNames: ['sink'],
      registers,
    });
    const droppedSeen: Record<string, number> = {};
    new Counter({
      name: 'exporter_records_dropped_total',
      help: 'Records removed without delivery, by reason: queue_full (onFull: drop-oldest), max_age (retention), dead_letters_full.',
      labelNames: ['reason'],
      registers,
      collect() {
        for (const [reason, n] of Object.entries(view.dropped())) {
          this.inc({ reason }, Math.max(0, n - (droppedSeen[reason] ?? 0)));
          droppedSeen[reason] = n;
        }
      },
    });
    new Gauge({
      name: 'exporter_queue_depth',
      help: 'Records waiting for a sink.',
      labelNames: ['sink'],
      registers,
      collect() {
        this.reset();
        for (const s of view.perSink()) this.set({ sink: s.sink }, s.depth);
      },
    });
    new Gauge({
      name: 'exporter_queue_oldest_age_seconds',
      help: 'Age of the oldest record a sink has not yet got (0 when none).',
      labelNames: ['sink'],
      registers,
      collect() {
        this.reset();
        for (const s of view.perSink()) this.set({ sink: s.sink }, s.oldestAgeSeconds);
      },
    });
    new Gauge({
      name: 'exporter_sink_up',
      help: '1 when the last delivery attempt to the sink succeeded (or none was needed) and the sink reports ready.',
      labelNames: ['sink'],
      registers,
      collect() {
        this.reset();
        for (const s of view.perSink()) this.set({ sink: s.sink }, s.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'exporter_orphaned_sink_records',
      help: 'Records a sink removed from the configuration still holds in the queue (kept until it returns, under its name or as a previousNames of a sink, or `exporter sinks drop`).',
      labelNames: ['sink'],
      registers,
      collect() {
        this.reset();
        for (const [sink, n] of view.orphaned()) this.set({ sink }, n);
      },
    });
    new Gauge({
      name: 'exporter_queue_bytes',
      help: 'Stored size of the queued records, as counted against queue.maxBytes.',
      registers,
      collect() {
        this.set(view.bytes());
      },
    });
    new Gauge({
      name: 'exporter_queue_capacity_bytes',
      help: 'queue.maxBytes.',
      registers,
      collect() {
        this.set(view.capacityBytes());
      },
    });
    new Gauge({
      name: 'exporter_queue_full',
      help: '1 while ingest is held back because the queue is at capacity or the disk is full (onFull: block).',
      registers,
      collect() {
        this.set(view.full() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'exporter_dead_letters',
      help: `Dead letters currently stored, by sink (${INGEST_LABEL}: rejected at ingest).`,
      labelNames: ['sink'],
      registers,
      collect() {
        this.reset();
        for (const [sink, n] of view.deadLetters()) this.set({ sink: sink ?? INGEST_LABEL }, n);
      },
    });
    new Gauge({
      name: 'exporter_connections',
      help: 'Open client connections on the socket.',
      registers,
      collect() {
        this.set(view.connections());
      },
    });
    this.connectionsClosed = new Counter({
      name: 'exporter_ingest_connections_closed_total',
      help: 'Client connections the exporter cut or refused, by reason: partial_budget (ingest.maxPartialBytes), idle_timeout (ingest.idleTimeout), evicted_idle (the idlest, to let a new client in at ingest.maxConnections), refused_full (no connection could make room).',
      labelNames: ['reason'],
      registers,
    });
    this.partialBytes = new Gauge({
      name: 'exporter_ingest_partial_bytes',
      help: 'Bytes of unterminated lines held across all connections (bounded by ingest.maxPartialBytes).',
      registers,
    });
    this.ingestCommitSeconds = new Histogram({
      name: 'exporter_ingest_commit_seconds',
      help: 'Time to commit one ingest batch to the queue.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.ingestBatchRecords = new Histogram({
      name: 'exporter_ingest_batch_records',
      help: 'Lines per ingest commit.',
      buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000],
      registers,
    });
    this.ackLatencySeconds = new Histogram({
      name: 'exporter_ack_latency_seconds',
      help: 'From reading a line to writing the ack that covers it (the oldest line of each ack).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    });
    this.deliverySeconds = new Histogram({
      name: 'exporter_delivery_seconds',
      help: 'Duration of one send() of a batch to a sink.',
      labelNames: ['sink'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
  }
}

/** The metric names, for docs and the chart's alerts. */
export const METRIC_NAMES = [
  'exporter_queue_depth{sink}',
  'exporter_queue_oldest_age_seconds{sink}',
  'exporter_queue_bytes',
  'exporter_queue_capacity_bytes',
  'exporter_queue_full',
  'exporter_orphaned_sink_records{sink}',
  'exporter_records_received_total',
  'exporter_records_rejected_total{reason}',
  'exporter_records_delivered_total{sink}',
  'exporter_delivery_failures_total{sink}',
  'exporter_records_dead_lettered_total{sink}',
  'exporter_records_filtered_total{sink}',
  'exporter_records_dropped_total{reason}',
  'exporter_dead_letters{sink}',
  'exporter_sink_up{sink}',
  'exporter_connections',
  'exporter_ingest_connections_closed_total{reason}',
  'exporter_ingest_partial_bytes',
  'exporter_ingest_commit_seconds',
  'exporter_ingest_batch_records',
  'exporter_ack_latency_seconds',
  'exporter_delivery_seconds{sink}',
];
