// The shutdown drain: after SIGTERM (ingest closed), the exporter keeps delivering until every sink's backlog is empty
// or the deadline passes. For a queue that dies with the pod (an emptyDir), this is what keeps a rollout or an eviction
// from destroying acknowledged records while a sink is briefly down; what is still undelivered at the deadline is
// abandoned, and said so: a log line with the count per sink, a counter, and a gauge an alert reads while it drains.
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface DrainTarget {
  readonly name: string;
  /** Records queued for this sink and not delivered yet. */
  backlog(): number;
}

export interface DrainResult {
  drained: boolean;
  /** Undelivered records per sink at the deadline (empty when drained). */
  abandoned: Record<string, number>;
}

export class ShutdownDrain {
  readonly #backlog: Gauge<'sink'>;
  readonly #abandoned: Counter<'sink'>;

  constructor(
    registry: Registry,
    private readonly log: Logger,
    private readonly pollMs = 200,
  ) {
    this.#backlog = new Gauge({
      name: 'exporter_drain_backlog_records',
      help: 'While the exporter drains at shutdown: records per sink not delivered yet (lost with the pod unless delivered before the deadline, when the queue is on an emptyDir).',
      labelNames: ['sink'],
      registers: [registry],
    });
    this.#abandoned = new Counter({
      name: 'exporter_drain_abandoned_records_total',
      help: 'Records still undelivered when the shutdown drain reached its deadline (they stay in the queue file).',
      labelNames: ['sink'],
      registers: [registry],
    });
  }

  async run(targets: readonly DrainTarget[], deadline: number): Promise<DrainResult> {
    const left = () => Object.fromEntries(targets.map((t) => [t.name, t.backlog()]).filter(([, n]) => (n as number) > 0)) as Record<string, number>;
    let pending = left();
    const total = () => Object.values(pending).reduce((a, b) => a + b, 0);
    if (!total()) return { drained: true, abandoned: {} };
    this.log.warn({ backlog: pending, timeoutMs: Math.max(0, deadline - Date.now()) }, 'shutdown: delivering the backlog before exiting');
    for (;;) {
      for (const t of targets) this.#backlog.set({ sink: t.name }, pending[t.name] ?? 0);
      if (!total()) {
        this.log.info('shutdown: backlog delivered');
        return { drained: true, abandoned: {} };
      }
      if (Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, Math.min(this.pollMs, Math.max(1, deadline - Date.now()))));
      pending = left();
    }
    for (const [sink, n] of Object.entries(pending)) this.#abandoned.inc({ sink }, n);
    this.log.error(
      { abandoned: pending, records: total() },
      'shutdown: deadline reached with records undelivered; they stay in the queue file (lost if the volume goes with the pod)',
    );
    return { drained: false, abandoned: pending };
  }
}
