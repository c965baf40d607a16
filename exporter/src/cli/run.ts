// Assembles a running exporter: queue, ingest socket, one delivery worker per sink, metrics, graceful shutdown.
import type http from 'node:http';
import type { Logger } from 'pino';
import type { ExporterConfig } from '../config/config.js';
import { parseListenAddress } from '../config/load.js';
import { Queue } from '../queue/queue.js';
import { IngestServer } from '../ingest/server.js';
import { DeliveryWorker } from '../delivery/worker.js';
import { ShutdownDrain } from '../delivery/drain.js';
import { HealthReporter } from '../delivery/health-reporter.js';
import { SinkHealthStore } from '../queue/sink-health.js';
import { Housekeeping } from '../queue/housekeeping.js';
import type { Registration } from '../queue/sink-cursors.js';
import { ExporterMetrics } from '../metrics/metrics.js';
import { startMetricsServer } from '../metrics/server.js';
import { loadSinkModule } from '../sinks/registry.js';
import type { Sink } from '../sinks/sink.js';

export interface RunningExporter {
  readonly queue: Queue;
  readonly metrics: ExporterMetrics;
  readonly ingest: IngestServer;
  readonly workers: readonly DeliveryWorker[];
  readonly metricsAddress?: string;
  /** Graceful: stop accepting, commit and ack what was read, let in-flight sends finish (bounded), close. */
  stop(): Promise<void>;
}

/** Each sink's routing (filter, redaction) comes with its config and is applied by its delivery worker. */
export async function startExporter(cfg: ExporterConfig, log: Logger): Promise<RunningExporter> {
  const queue = new Queue(cfg.queue.path, cfg.queue, {
    owner: true,
    onMigration: {
      progress: (moved, total) => log.info({ moved, total }, `moving the queue's records to the batched format: ${moved} of ${total}`),
      done: (records, ms) => log.info({ records, ms }, `the queue file was in the per-record format of exporters before 2026-12-07: its ${records} records now stored in the batched format (an older exporter can no longer open it)`),
    },
  });
  queue.onWarning((message) => log.warn(message));
  try {
    logRegistration(log, queue.registerSinks(cfg.sinks), queue.file);
    let ingest: IngestServer | undefined;
    const housekeeping = new Housekeeping(queue, log, () => ingest?.holdReason ?? null);
    for (const [sink, records] of housekeeping.orphaned) {
      log.warn(
        { removedSink: sink, records },
        `sink "${sink}" is no longer configured but still holds ${records} queued records: they stay on disk (and keep ` +
          `later records from being pruned) until it is configured again, a sink declares previousNames: [${sink}], or ` +
          `\`exporter sinks drop ${sink} --queue ${queue.file}\` drops them`,
      );
    }
    const workers: DeliveryWorker[] = [];
    const sinks: Sink[] = [];
    const metrics = new ExporterMetrics({
      capacityBytes: () => cfg.queue.maxBytes,
      bytes: () => queue.bytes,
      perSink: () => {
        const now = Date.now();
        return workers.map((w) => ({
          sink: w.name,
          depth: queue.depth(w.position),
          oldestAgeSeconds: queue.oldestAgeMs(w.name, w.position, now) / 1000,
          up: w.up,
        }));
      },
      deadLetters: () => queue.deadLetters.countsBySink(),
      dropped: () => ({ ...queue.dropped }),
      connections: () => ingest?.connectionCount ?? 0,
      full: () => ingest?.isFull ?? false,
      orphaned: () => housekeeping.orphaned,
      checkpointThread: () => queue.checkpointThread,
    });
    for (const r of ['malformed_json', 'not_an_object', 'schema', 'oversized', 'truncated', 'invalid_utf8', 'too_large_for_queue']) {
      metrics.rejected.inc({ reason: r }, 0);
    }

    // Only the sink types this config uses are imported (with their client libraries).
    const modules = await Promise.all(cfg.sinks.map((sc) => loadSinkModule(sc.type)));
    for (const [i, sc] of cfg.sinks.entries()) {
      const mod = modules[i]!;
      // The sink and the worker each put the `sink` key on their lines themselves: given a child logger with it, the
      // key appeared twice in every line.
      const sink = mod.createSink(sc, { logger: log });
      sinks.push(sink);
      for (const m of [metrics.delivered, metrics.deliveryFailures, metrics.deadLettered]) m.inc({ sink: sc.name }, 0);
      workers.push(
        new DeliveryWorker({ queue, metrics, log, sink, cfg: sc, onAdvance: housekeeping.afterAdvance }),
      );
    }

    // Each sink's live state in the queue file, for `exporter status` (its table is created before anything runs).
    const health = new HealthReporter(new SinkHealthStore(queue.db), workers, cfg.queue.statusIntervalMs, log);
    ingest = new IngestServer(cfg, queue, metrics, log);
    await ingest.start();
    for (const w of workers) w.start();
    health.start();
    housekeeping.start();

    let metricsServer: http.Server | undefined;
    let metricsAddress: string | undefined;
    if (cfg.metrics.address) {
      const addr = parseListenAddress(cfg.metrics.address)!;
      const ing = ingest;
      metricsServer = await startMetricsServer({
        host: addr.host,
        port: addr.port,
        registry: metrics.registry,
        ready: () => {
          const own =
            ing.isListening && queue.db.open
              ? { ready: true, detail: 'ready' }
              : { ready: false, detail: !queue.db.open ? 'queue not open' : 'socket not listening' };
          // A sink that is down does not make the exporter unready (records queue up); /readyz shows it, one line per sink.
          const sinkLines = sinks.map((s) => {
            const h = s.health();
            return `sink ${s.name}: ${h.ready ? 'ready' : `not ready${h.detail ? `: ${h.detail}` : ''}`}`;
          });
          return { ready: own.ready, detail: [own.detail, ...sinkLines].join('\n') };
        },
      });
      const a = metricsServer.address();
      metricsAddress = typeof a === 'object' && a ? `${a.address}:${a.port}` : cfg.metrics.address;
      log.info({ address: metricsAddress }, 'metrics listening');
    }

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        const deadline = Date.now() + cfg.shutdownTimeoutMs;
        log.info({ timeoutMs: cfg.shutdownTimeoutMs }, 'shutting down');
        await ingest.stop(deadline);
        if (cfg.shutdownDrain) {
          const targets = workers.map((w) => ({ name: w.name, backlog: () => queue.exactDepth(w.name, w.position) }));
          await new ShutdownDrain(metrics.registry, log).run(targets, deadline);
        }
        await Promise.all(workers.map((w) => w.stop(deadline)));
        health.stop();
        if (metricsServer) {
          metricsServer.closeAllConnections();
          await new Promise((r) => metricsServer.close(r));
        }
        housekeeping.stop();
        queue.close();
        log.info('stopped');
      })());

    log.info(
      { socket: cfg.socket, queue: cfg.queue.path, sinks: cfg.sinks.map((s) => `${s.name}(${s.type})`), onFull: cfg.queue.onFull, maxBytes: cfg.queue.maxBytes },
      'exporter running',
    );
    return { queue, metrics, ingest, workers, metricsAddress, stop };
  } catch (e) {
    queue.close();
    throw e;
  }
}

function logRegistration(log: Logger, r: Registration, queueFile: string): void {
  for (const a of r.added) {
    log.info({ newSink: a.name, startFrom: a.startFrom, cursor: a.cursor }, `new sink "${a.name}" starts from the ${a.startFrom === 'oldest' ? 'oldest stored record' : 'next record received (startFrom: newest)'}`);
  }
  for (const m of r.renamed) {
    log.info({ from: m.from, to: m.to, cursor: m.cursor, queue: queueFile }, `sink "${m.from}" renamed "${m.to}" (previousNames): its queued records go to "${m.to}"`);
  }
}
