// Prometheus metrics under Gatekeeper's own names and labels (pkg/webhook/stats_reporter.go, pkg/controller/*/stats_reporter.go),
// so dashboards built for Gatekeeper keep working; names without a Gatekeeper equivalent are marked below.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Gatekeeper's buckets for gatekeeper_validation_request_duration_seconds. */
const REQUEST_BUCKETS = [
  0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.2,
  0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.5, 2, 2.5, 3,
];

/** admission_status values, as Gatekeeper's requestResponse. */
export type AdmissionStatus = 'allow' | 'deny' | 'error';

export class WebhookMetrics {
  readonly registry = new Registry();
  readonly validationRequests: Counter<'admission_status' | 'admission_dryrun'>;
  readonly validationDuration: Histogram<'admission_status'>;
  readonly constraints: Gauge<'enforcement_action' | 'status'>;
  readonly constraintTemplates: Gauge<'status'>;
  readonly templateIngestions: Counter<'status'>;
  readonly templateIngestionDuration: Histogram<'status'>;
  /** Not in Gatekeeper: requests refused before evaluation (malformed, too large, wrong method). */
  readonly rejectedRequests: Counter<'path' | 'reason'>;
  /** Not in Gatekeeper: label webhook answers. */
  readonly labelRequests: Counter<'admission_status'>;
  /** Not in Gatekeeper: policy reloads from the --policies folder. */
  readonly policyReloads: Counter<'status'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.validationRequests = new Counter({
      name: 'gatekeeper_validation_request_count',
      help: 'The number of requests that are routed to validation webhook',
      labelNames: ['admission_status', 'admission_dryrun'],
      registers,
    });
    this.validationDuration = new Histogram({
      name: 'gatekeeper_validation_request_duration_seconds',
      help: 'The response time in seconds',
      labelNames: ['admission_status'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.constraints = new Gauge({
      name: 'gatekeeper_constraints',
      help: 'Current number of known constraints',
      labelNames: ['enforcement_action', 'status'],
      registers,
    });
    this.constraintTemplates = new Gauge({
      name: 'gatekeeper_constraint_templates',
      help: 'Number of observed constraint templates',
      labelNames: ['status'],
      registers,
    });
    this.templateIngestions = new Counter({
      name: 'gatekeeper_constraint_template_ingestion_count',
      help: 'Total number of constraint template ingestion actions',
      labelNames: ['status'],
      registers,
    });
    this.templateIngestionDuration = new Histogram({
      name: 'gatekeeper_constraint_template_ingestion_duration_seconds',
      help: 'Distribution of how long it took to ingest a constraint template in seconds',
      labelNames: ['status'],
      buckets: [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30],
      registers,
    });
    this.rejectedRequests = new Counter({
      name: 'gatekeeper_webhook_rejected_request_count',
      help: 'Requests answered without evaluation because they were malformed, too large or sent with the wrong method',
      labelNames: ['path', 'reason'],
      registers,
    });
    this.labelRequests = new Counter({
      name: 'gatekeeper_namespace_label_request_count',
      help: 'Requests answered by the namespace label webhook (/v1/admitlabel)',
      labelNames: ['admission_status'],
      registers,
    });
    this.policyReloads = new Counter({
      name: 'gatekeeper_policy_reload_count',
      help: 'Reloads of templates and constraints from the policy folder',
      labelNames: ['status'],
      registers,
    });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  recordValidation(status: AdmissionStatus, dryRun: boolean, seconds: number): void {
    this.validationRequests.inc({ admission_status: status, admission_dryrun: String(dryRun) });
    this.validationDuration.observe({ admission_status: status }, seconds);
  }

  /** Replaces the constraint / template gauges with the engine's current state. */
  setPolicyCounts(templates: { active: number; error: number }, constraints: Array<{ action: string; status: 'active' | 'error' }>): void {
    this.constraintTemplates.reset();
    this.constraintTemplates.set({ status: 'active' }, templates.active);
    this.constraintTemplates.set({ status: 'error' }, templates.error);
    this.constraints.reset();
    const counts = new Map<string, number>();
    for (const c of constraints) counts.set(`${c.action}\u0000${c.status}`, (counts.get(`${c.action}\u0000${c.status}`) ?? 0) + 1);
    for (const action of ['deny', 'dryrun', 'warn']) {
      for (const status of ['active', 'error'] as const) counts.set(`${action}\u0000${status}`, counts.get(`${action}\u0000${status}`) ?? 0);
    }
    for (const [key, n] of counts) {
      const [enforcement_action, status] = key.split('\u0000') as [string, string];
      this.constraints.set({ enforcement_action, status }, n);
    }
  }
}
