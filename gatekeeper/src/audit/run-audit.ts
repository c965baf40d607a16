// A standalone audit: every object against every matching constraint, a per-constraint summary capped like Gatekeeper's
// constraint status (--constraint-violations-limit), and the uncapped stream of violations to the exporter.
import type { Logger } from 'pino';
import type { PolicyEngine, Violation } from '../policy/engine.js';
import { reviewFromObject } from '../policy/load.js';
import type { DecisionExport } from '../export/decision-export.js';
import { newAuditRun, objectResource, type AuditRun } from '../export/records.js';

export const AUDIT_ENFORCEMENT_POINT = 'audit.gatekeeper.sh';

/** One entry of a constraint's status.violations, as Gatekeeper writes it. */
export interface AuditedViolation {
  enforcementAction: string;
  group: string;
  version: string;
  kind: string;
  namespace?: string;
  name?: string;
  message: string;
}

export interface ConstraintSummary {
  kind: string;
  name: string;
  enforcementAction: string;
  totalViolations: number;
  /** The first --constraint-violations-limit violations. */
  violations: AuditedViolation[];
}

export interface AuditReport {
  auditId: string;
  startedAt: string;
  durationMs: number;
  totalObjects: number;
  totalViolations: number;
  violationsByAction: Record<string, number>;
  constraints: ConstraintSummary[];
  errors: string[];
}

export interface AuditOptions {
  engine: PolicyEngine;
  objects: unknown[];
  logger: Logger;
  violationsLimit: number;
  exporter?: DecisionExport;
  /** Called every progressEvery objects with (done, total, violations so far). */
  onProgress?: (done: number, total: number, violations: number) => void;
  progressEveryMs?: number;
}

/** Expands `kind: List` / `*List` objects into their items; drops non-objects. */
export function flattenObjects(objects: unknown[]): any[] {
  const out: any[] = [];
  for (const o of objects as any[]) {
    if (!o || typeof o !== 'object') continue;
    if (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) out.push(...flattenObjects(o.items));
    else out.push(o);
  }
  return out;
}

export async function runAudit(opts: AuditOptions): Promise<AuditReport> {
  const { engine, logger } = opts;
  const run: AuditRun = newAuditRun();
  const started = performance.now();
  const objects = flattenObjects(opts.objects);
  const summaries = new Map<string, ConstraintSummary>();
  for (const c of engine.listConstraints()) {
    summaries.set(`${c.kind}/${c.name}`, { kind: c.kind, name: c.name, enforcementAction: c.enforcementAction || 'deny', totalViolations: 0, violations: [] });
  }
  const byAction: Record<string, number> = { deny: 0, warn: 0, dryrun: 0 };
  const errors: string[] = [];
  let total = 0;

  opts.exporter?.auditStarted(run);

  let lastProgress = performance.now();
  const every = opts.progressEveryMs ?? 2000;
  for (let i = 0; i < objects.length; i++) {
    const obj = objects[i];
    const resource = objectResource(obj);
    let violations: Violation[];
    try {
      violations = (await engine.review(reviewFromObject(obj), { enforcementPoint: AUDIT_ENFORCEMENT_POINT })).violations;
    } catch (e) {
      const msg = `${resource.kind} ${resource.namespace ? resource.namespace + '/' : ''}${resource.name ?? '(no name)'}: ${(e as Error).message}`;
      errors.push(msg);
      logger.error({ err: e }, `audit of ${msg}`);
      continue;
    }
    for (const v of violations) {
      total++;
      byAction[v.enforcementAction] = (byAction[v.enforcementAction] ?? 0) + 1;
      const key = `${v.constraint.kind}/${v.constraint.name}`;
      let s = summaries.get(key);
      if (!s) {
        s = { kind: v.constraint.kind, name: v.constraint.name, enforcementAction: v.constraint.enforcementAction || 'deny', totalViolations: 0, violations: [] };
        summaries.set(key, s);
      }
      s.totalViolations++;
      if (s.violations.length < opts.violationsLimit) {
        const entry: AuditedViolation = { enforcementAction: v.enforcementAction, group: resource.group, version: resource.version, kind: resource.kind, message: v.msg };
        if (resource.namespace) entry.namespace = resource.namespace;
        if (resource.name) entry.name = resource.name;
        s.violations.push(entry);
      }
      opts.exporter?.auditViolation(run, resource, v);
    }
    await opts.exporter?.backpressure();
    if (opts.onProgress && performance.now() - lastProgress >= every) {
      lastProgress = performance.now();
      opts.onProgress(i + 1, objects.length, total);
    }
  }

  const durationMs = performance.now() - started;
  const constraints = [...summaries.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  opts.exporter?.auditCompleted(run, {
    totals: { constraints: constraints.length, objects: objects.length, violations: total, byAction, durationSeconds: durationMs / 1000 },
    constraints: constraints.map((c) => ({ kind: c.kind, name: c.name, enforcementAction: c.enforcementAction, totalViolations: c.totalViolations })),
    ...(errors.length ? { errors } : {}),
  });
  return {
    auditId: run.auditId,
    startedAt: run.startedAt.toISOString(),
    durationMs,
    totalObjects: objects.length,
    totalViolations: total,
    violationsByAction: byAction,
    constraints,
    errors,
  };
}

export function formatAuditText(r: AuditReport, limit: number): string {
  const lines: string[] = [];
  for (const c of r.constraints) {
    lines.push(`${c.kind}/${c.name} [${c.enforcementAction}]: ${c.totalViolations} violation${c.totalViolations === 1 ? '' : 's'}`);
    for (const v of c.violations) {
      const where = `${v.kind}${v.namespace ? ` ${v.namespace}/` : ' '}${v.name ?? '(no name)'}`;
      lines.push(`  - ${where}: ${v.message}${v.enforcementAction !== c.enforcementAction ? ` (${v.enforcementAction})` : ''}`);
    }
    if (c.totalViolations > c.violations.length) {
      lines.push(`  ... ${c.totalViolations - c.violations.length} more (showing the first ${limit}; --constraint-violations-limit)`);
    }
  }
  for (const e of r.errors) lines.push(`error: ${e}`);
  const actions = Object.entries(r.violationsByAction)
    .filter(([, n]) => n > 0)
    .map(([a, n]) => `${a} ${n}`)
    .join(', ');
  lines.push(
    `audit ${r.auditId}: ${r.totalObjects} objects, ${r.constraints.length} constraints, ${r.totalViolations} violations` +
      `${actions ? ` (${actions})` : ''} in ${Math.round(r.durationMs)} ms`,
  );
  return lines.join('\n') + '\n';
}
