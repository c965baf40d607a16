// Assembles a running exporter: queue, ingest socket, one delivery worker per sink, metrics, graceful shutdown.
import type http from 'node:http';
import type { Logger } from 'pino';
import type { ExporterConfig, SinkConfig } from '../config/config.js';
import { parseListenAddress } from '../config/load.js';
import { Queue } from '../queue/queue.js';
import { IngestServer } from '../ingest/server.js';
import { DeliveryWorker, type RecordTransform } from '../delivery/worker.js';
import { ShutdownDrain } from '../delivery/drain.js';
import { HealthReporter } from '../delivery/health-reporter.js';
import { SinkHealthStore } from '../queue/sink-health.js';
import { ExporterMetrics } from '../metrics/metrics.js';
import { startMetricsServer } from '../metrics/server.js';
import { loadSinkModule } from '../sinks/registry.js';
import type { Sink } from '../sinks/sink.js';

export interface RunOptions {
  /** Routing seam (filter / redact): a transform per sink, or undefined to send records as stored. */
  transformFor?: (cfg: SinkConfig, log: Logger) => RecordTransform | undefined;
}

export interface RunningExporter {
  readonly queue: Queue;
  readonly metrics: ExporterMetrics;
  readonly ingest: IngestServer;
  readonly workers: readonly DeliveryWorker[];
  readonly metricsAddress?: string;
  /** Graceful: stop accepting, commit and ack what was read, let in-flight sends finish (bounded), close. */
  stop(): Promise<void>;
}

const MAINTENANCE_MS = 1000;

export async function startExporter(cfg: ExporterConfig, log: Logger, opts: RunOptions = {}): Promise<RunningExporter> {
  const queue = new Queue(cfg.queue.path, cfg.queue, { owner: true });
  try {
    queue.registerSinks(cfg.sinks);
    let ingest: IngestServer | undefined;
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
      deadLetters: () => queue.deadLetterCounts(),
      dropped: () => ({ ...queue.dropped }),
      connections: () => ingest?.connectionCount ?? 0,
      full: () => ingest?.isFull ?? false,
    });
    for (const r of ['malformed_json', 'not_an_object', 'schema', 'oversized', 'truncated', 'invalid_utf8', 'too_large_for_queue']) {
      metrics.rejected.inc({ reason: r }, 0);
    }

    let pruneScheduled = false;
    const schedulePrune = () => {
      if (pruneScheduled) return;
      pruneScheduled = true;
      setTimeout(() => {
        pruneScheduled = false;
        try {
          queue.prune();
        } catch (e) {
          log.warn({ err: (e as Error).message }, 'pruning delivered records failed; will retry');
        }
      }, 100).unref();
    };

    // Only the sink types this config uses are imported (with their client libraries).
    const modules = await Promise.all(cfg.sinks.map((sc) => loadSinkModule(sc.type)));
    for (const [i, sc] of cfg.sinks.entries()) {
      const mod = modules[i]!;
      const sinkLog = log.child({ sink: sc.name });
      const sink = mod.createSink(sc, { logger: sinkLog });
      sinks.push(sink);
      for (const m of [metrics.delivered, metrics.deliveryFailures, metrics.deadLettered]) m.inc({ sink: sc.name }, 0);
      workers.push(
        new DeliveryWorker({ queue, metrics, log: sinkLog, sink, cfg: sc, transform: opts.transformFor?.(sc, sinkLog), onAdvance: schedulePrune }),
      );
    }

    // Each sink's live state in the queue file, for `exporter status` (its table is created before anything runs).
    const health = new HealthReporter(new SinkHealthStore(queue.db), workers, cfg.queue.statusIntervalMs, log);
    ingest = new IngestServer(cfg, queue, metrics, log);
    await ingest.start();
    for (const w of workers) w.start();
    health.start();

    const maintenance = setInterval(() => {
      try {
        queue.prune();
        const dropped = queue.enforceRetention();
        if (dropped) log.warn({ records: dropped, maxAgeMs: cfg.queue.maxAgeMs }, 'records older than queue.maxAge dropped before every sink had them');
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'queue maintenance failed; will retry');
      }
    }, MAINTENANCE_MS);
    maintenance.unref();

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
        clearInterval(maintenance);
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
        try {
          queue.prune();
        } catch {
          // next start prunes
        }
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
