// The audit's Prometheus metrics under Gatekeeper's names (pkg/audit/stats_reporter.go).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LifecycleTotals } from '../audit/lifecycle/run.js';

/** Gatekeeper's buckets for gatekeeper_audit_duration_seconds. */
const AUDIT_BUCKETS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 2000, 3000, 4000, 5000];

export class AuditMetrics {
  readonly registry = new Registry();
  readonly violations: Gauge<'enforcement_action'>;
  readonly duration: Histogram;
  readonly lastRunTime: Gauge;
  readonly lastRunEndTime: Gauge;
  /** Not in Gatekeeper: objects evaluated by the last audit. */
  readonly objects: Gauge;
  /** Not in Gatekeeper: the violation lifecycle (--violation-lifecycle). */
  readonly lifecycleTransitions: Counter<'transition'>;
  readonly openViolations: Gauge;

  constructor() {
    const registers = [this.registry];
    this.violations = new Gauge({
      name: 'gatekeeper_violations',
      help: 'Total number of audited violations',
      labelNames: ['enforcement_action'],
      registers,
    });
    this.duration = new Histogram({ name: 'gatekeeper_audit_duration_seconds', help: 'Latency of audit operation in seconds', buckets: AUDIT_BUCKETS, registers });
    this.lastRunTime = new Gauge({ name: 'gatekeeper_audit_last_run_time', help: 'Timestamp of last audit run starting time', registers });
    this.lastRunEndTime = new Gauge({ name: 'gatekeeper_audit_last_run_end_time', help: 'Timestamp of last audit run ending time', registers });
    this.objects = new Gauge({ name: 'gatekeeper_audit_objects', help: 'Objects evaluated by the last audit run (not in Gatekeeper)', registers });
    this.lifecycleTransitions = new Counter({
      name: 'gatekeeper_audit_violation_transitions_total',
      help: '(constraint, resource) pairs opened or resolved by audit runs (violation lifecycle; not in Gatekeeper)',
      labelNames: ['transition'],
      registers,
    });
    this.openViolations = new Gauge({
      name: 'gatekeeper_audit_open_violations',
      help: '(constraint, resource) pairs open after the last audit run, unverified ones included (violation lifecycle; not in Gatekeeper)',
      registers,
    });
  }

  recordLifecycle(t: LifecycleTotals): void {
    this.lifecycleTransitions.inc({ transition: 'opened' }, t.opened);
    this.lifecycleTransitions.inc({ transition: 'resolved' }, t.resolved);
    this.openViolations.set(t.opened + t.ongoing + t.unverified);
  }

  record(startedAtMs: number, durationMs: number, byAction: Record<string, number>, objects: number): void {
    for (const action of new Set(['deny', 'dryrun', 'warn', ...Object.keys(byAction)])) this.violations.set({ enforcement_action: action }, byAction[action] ?? 0);
    this.duration.observe(durationMs / 1000);
    this.lastRunTime.set(startedAtMs / 1000);
    this.lastRunEndTime.set((startedAtMs + durationMs) / 1000);
    this.objects.set(objects);
  }
}
