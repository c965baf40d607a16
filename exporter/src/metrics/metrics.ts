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
  /** The queue's checkpoint thread, undefined when it has none (queue.checkpointThread off, or queue.writerThread on). */
  checkpointThread?(): { up: boolean; checkpoints: number } | undefined;
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
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) => new Counter<L>({ name, help, labelNames, registers });
    /** A gauge read at each scrape. */
    const gauge = (name: string, help: string, value: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(value());
        },
      });
    /** A gauge by label read at each scrape: the labels no longer reported disappear. */
    const gaugeBy = (name: string, help: string, label: string, values: () => Iterable<[string, number]>) =>
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers,
        collect() {
          this.reset();
          for (const [key, n] of values()) this.set({ [label]: key }, n);
        },
      });
    const histogram = <L extends string>(name: string, help: string, buckets: number[], labelNames: L[] = []) =>
      new Histogram<L>({ name, help, buckets, labelNames, registers });
    const perSink = <K extends 'depth' | 'oldestAgeSeconds'>(key: K) => () => view.perSink().map((s): [string, number] => [s.sink, s[key]]);

    this.received = counter('exporter_records_received_total', 'Lines received on the socket (blank lines excluded), accepted or rejected.');
    this.rejected = counter('exporter_records_rejected_total', 'Lines rejected at ingest and stored as dead letters, by reason.', ['reason']);
    this.delivered = counter('exporter_records_delivered_total', 'Records a sink acknowledged.', ['sink']);
    this.deliveryFailures = counter('exporter_delivery_failures_total', 'Failed delivery attempts (a whole batch, or single records within one).', ['sink']);
    this.deadLettered = counter('exporter_records_dead_lettered_total', 'Records a sink refused for good, moved to dead letters after retry.maxAttempts.', ['sink']);
    this.filtered = counter('exporter_records_filtered_total', "Records a sink's filter left out (counted as done for that sink).", ['sink']);
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
    gaugeBy('exporter_queue_depth', 'Records waiting for a sink.', 'sink', perSink('depth'));
    gaugeBy('exporter_queue_oldest_age_seconds', 'Age of the oldest record a sink has not yet got (0 when none).', 'sink', perSink('oldestAgeSeconds'));
    gaugeBy('exporter_sink_up', '1 when the last delivery attempt to the sink succeeded (or none was needed) and the sink reports ready.', 'sink', () =>
      view.perSink().map((s): [string, number] => [s.sink, s.up ? 1 : 0]),
    );
    gaugeBy(
      'exporter_orphaned_sink_records',
      'Records a sink removed from the configuration still holds in the queue (kept until it returns, under its name or as a previousNames of a sink, or `exporter sinks drop`).',
      'sink',
      () => view.orphaned(),
    );
    gauge('exporter_queue_bytes', 'Stored size of the queued records, as counted against queue.maxBytes.', () => view.bytes());
    gauge('exporter_queue_capacity_bytes', 'queue.maxBytes.', () => view.capacityBytes());
    gauge('exporter_queue_full', '1 while ingest is held back because the queue is at capacity or the disk is full (onFull: block).', () => (view.full() ? 1 : 0));
    gaugeBy('exporter_dead_letters', `Dead letters currently stored, by sink (${INGEST_LABEL}: rejected at ingest).`, 'sink', () =>
      [...view.deadLetters()].map(([sink, n]): [string, number] => [sink ?? INGEST_LABEL, n]),
    );
    gauge(
      'exporter_queue_checkpoint_thread_failed',
      "1 once the queue's checkpoint thread failed and the commits checkpoint the WAL themselves again (slower ingest; the log says why); 0 otherwise.",
      () => (view.checkpointThread?.()?.up === false ? 1 : 0),
    );
    new Counter({
      name: 'exporter_queue_checkpoints_total',
      help: "WAL checkpoints run by the queue's checkpoint thread (not those the commits run, with queue.checkpointThread off or after it failed).",
      registers,
      collect() {
        this.reset();
        this.inc(view.checkpointThread?.()?.checkpoints ?? 0);
      },
    });
    gauge('exporter_connections', 'Open client connections on the socket.', () => view.connections());
    this.connectionsClosed = counter(
      'exporter_ingest_connections_closed_total',
      'Client connections the exporter cut or refused, by reason: partial_budget (ingest.maxPartialBytes), idle_timeout (ingest.idleTimeout), evicted_idle (the idlest, to let a new client in at ingest.maxConnections), refused_full (no connection could make room).',
      ['reason'],
    );
    this.partialBytes = new Gauge({
      name: 'exporter_ingest_partial_bytes',
      help: 'Bytes of unterminated lines held across all connections (bounded by ingest.maxPartialBytes).',
      registers,
    });
    this.ingestCommitSeconds = histogram('exporter_ingest_commit_seconds', 'Time to commit one ingest batch to the queue.', [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
    this.ingestBatchRecords = histogram('exporter_ingest_batch_records', 'Lines per ingest commit.', [1, 10, 100, 500, 1000, 2500, 5000, 10000]);
    this.ackLatencySeconds = histogram(
      'exporter_ack_latency_seconds',
      'From reading a line to writing the ack that covers it (the oldest line of each ack).',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    );
    this.deliverySeconds = histogram('exporter_delivery_seconds', 'Duration of one send() of a batch to a sink.', [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], ['sink']);
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
  'exporter_queue_checkpoint_thread_failed',
  'exporter_queue_checkpoints_total',
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
