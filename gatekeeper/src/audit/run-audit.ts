// An audit: every object against every matching constraint, a per-constraint summary capped like Gatekeeper's
// constraint status (--constraint-violations-limit), and the uncapped stream of violations to the exporter. Objects
// arrive in chunks and are evaluated as they come, so the audit holds one chunk plus the capped summaries, whatever
// the number of objects.
import type { Logger } from 'pino';
import type { NamespaceSource } from '../match/match.js';
import type { PolicyEngine, ReviewOptions, Violation } from '../policy/engine.js';
import { reviewFromObject } from '../policy/load.js';
import type { DecisionExport } from '../export/decision-export.js';
import { newAuditRun, objectResource, type AuditRun } from '../export/records.js';
import { reviewImplied } from '../expansion/audit-resultants.js';
import type { Expander } from '../expansion/expansion.js';
import type { ViolationLifecycle } from './lifecycle/lifecycle.js';
import type { LifecycleTotals } from './lifecycle/run.js';

export const AUDIT_ENFORCEMENT_POINT = 'audit.gatekeeper.sh';

/** One entry of a constraint's status.violations, as Gatekeeper writes it. */
export interface AuditedViolation {
  /** The constraint's action (`scoped` for scoped ones, as Gatekeeper's status writes it). */
  enforcementAction: string;
  /** A scoped constraint: the actions at the audit point. */
  enforcementActions?: string[];
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
  /** Violation lifecycle totals, when the lifecycle is on and its state could be read. */
  lifecycle?: LifecycleTotals;
}

/** A page of objects to audit. `resource` says where it came from (e.g. "apps/v1 deployments") for progress reports. */
export interface AuditChunk {
  resource?: string;
  objects: unknown[];
}

/** Chunks are evaluated one at a time as they arrive, so a lazy source keeps only one chunk in memory. */
export type AuditSource = AsyncIterable<AuditChunk> | Iterable<AuditChunk>;

export interface AuditProgress {
  /** Objects evaluated so far. */
  objects: number;
  violations: number;
  /** Objects the source will yield, when known up front (files); a cluster listing does not know it. */
  expectedObjects?: number;
  /** The resource of the chunk being evaluated. */
  resource?: string;
}

export interface AuditOptions {
  engine: PolicyEngine;
  source: AuditSource;
  logger: Logger;
  violationsLimit: number;
  exporter?: DecisionExport;
  /** Cluster mode: the Namespaces namespaceSelector needs (else data.inventory's). */
  namespaces?: NamespaceSource;
  /** Each violation with the object that has it (Kubernetes Events). */
  onViolation?: (object: any, v: Violation) => void;
  /** ExpansionTemplates: each object is also reviewed as the resources they imply. */
  expander?: Expander;
  expectedObjects?: number;
  /** Called at most every progressEveryMs (default 2 s) while the audit runs. */
  onProgress?: (p: AuditProgress) => void;
  progressEveryMs?: number;
  /** Called when the source moves past a resource (and at the end), with that resource's counts. */
  onResourceDone?: (resource: string, counts: { objects: number; violations: number }) => void;
  /** violation_opened / violation_resolved across runs. */
  lifecycle?: ViolationLifecycle;
  /** Kinds this run could not list: their open pairs stay open, unchecked (read when the run ends). */
  unverifiedKind?: (group: string, kind: string) => boolean;
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

/** An in-memory array as a source (the file-based audit, --audit-from-cache). */
export function* chunksOf(objects: unknown[], size: number, resource?: string): Generator<AuditChunk> {
  for (let i = 0; i < objects.length; i += size) yield { objects: objects.slice(i, i + size), ...(resource ? { resource } : {}) };
}

export async function runAudit(opts: AuditOptions): Promise<AuditReport> {
  const { engine, logger } = opts;
  const run: AuditRun = newAuditRun();
  const started = performance.now();
  const summaries = new Map<string, ConstraintSummary>();
  for (const c of engine.listConstraints()) {
    summaries.set(`${c.kind}/${c.name}`, { kind: c.kind, name: c.name, enforcementAction: c.enforcementAction || 'deny', totalViolations: 0, violations: [] });
  }
  const byAction: Record<string, number> = { deny: 0, warn: 0, dryrun: 0 };
  const errors: string[] = [];
  const begun = await opts.lifecycle?.begin(run, engine.listConstraints(), opts.exporter);
  if (begun && 'error' in begun) errors.push(begun.error);
  const lifecycle = begun && !('error' in begun) ? begun : undefined;
  let total = 0;
  let objects = 0;
  let resource: { name: string; objects: number; violations: number } | undefined;
  const resourceDone = () => {
    if (resource) opts.onResourceDone?.(resource.name, { objects: resource.objects, violations: resource.violations });
  };

  /** Evaluates one object, records and exports its violations; returns how many it has. */
  async function auditObject(obj: any): Promise<number> {
    const target = objectResource(obj);
    let violations: Violation[];
    let namespaceLabels: Record<string, string> | undefined;
    lifecycle?.audited(target);
    try {
      const reviewOpts: ReviewOptions = { enforcementPoint: AUDIT_ENFORCEMENT_POINT };
      if (opts.namespaces && target.namespace) reviewOpts.namespace = await opts.namespaces.get(target.namespace);
      ({ violations, namespaceLabels } = await engine.review(reviewFromObject(obj), reviewOpts));
      violations = violations.concat(await reviewImplied(engine, opts.expander, obj, reviewOpts, errors, logger));
    } catch (e) {
      const msg = `${target.kind} ${target.namespace ? target.namespace + '/' : ''}${target.name ?? '(no name)'}: ${(e as Error).message}`;
      errors.push(msg);
      logger.error({ err: e }, `audit of ${msg}`);
      lifecycle?.unverified(target);
      return 0;
    }
    for (const v of violations) {
      byAction[v.enforcementAction] = (byAction[v.enforcementAction] ?? 0) + 1;
      const key = `${v.constraint.kind}/${v.constraint.name}`;
      let s = summaries.get(key);
      if (!s) {
        s = { kind: v.constraint.kind, name: v.constraint.name, enforcementAction: v.constraint.enforcementAction || 'deny', totalViolations: 0, violations: [] };
        summaries.set(key, s);
      }
      s.totalViolations++;
      if (s.violations.length < opts.violationsLimit) {
        const entry: AuditedViolation = { enforcementAction: v.enforcementActions ? 'scoped' : v.enforcementAction, group: target.group, version: target.version, kind: target.kind, message: v.msg };
        if (v.enforcementActions) entry.enforcementActions = v.enforcementActions;
        if (target.namespace) entry.namespace = target.namespace;
        if (target.name) entry.name = target.name;
        s.violations.push(entry);
      }
      opts.exporter?.auditViolation(run, target, v, namespaceLabels);
      lifecycle?.violation(target, v, namespaceLabels);
      opts.onViolation?.(obj, v);
    }
    return violations.length;
  }

  opts.exporter?.auditStarted(run);

  let lastProgress = performance.now();
  const every = opts.progressEveryMs ?? 2000;
  for await (const chunk of opts.source) {
    if (chunk.resource !== undefined && chunk.resource !== resource?.name) {
      resourceDone();
      resource = { name: chunk.resource, objects: 0, violations: 0 };
    }
    for (const obj of flattenObjects(chunk.objects)) {
      objects++;
      if (resource) resource.objects++;
      const found = await auditObject(obj);
      total += found;
      if (resource) resource.violations += found;
      await opts.exporter?.backpressure();
      if (opts.onProgress && performance.now() - lastProgress >= every) {
        lastProgress = performance.now();
        opts.onProgress({
          objects,
          violations: total,
          ...(opts.expectedObjects !== undefined ? { expectedObjects: opts.expectedObjects } : {}),
          ...(resource ? { resource: resource.name } : {}),
        });
      }
    }
  }
  resourceDone();

  const completed = lifecycle && (await opts.lifecycle!.complete(lifecycle, run, opts.exporter, opts.unverifiedKind));
  if (completed && completed.error) errors.push(completed.error);
  const durationMs = performance.now() - started;
  const constraints = [...summaries.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  opts.exporter?.auditCompleted(run, {
    totals: { constraints: constraints.length, objects, violations: total, byAction, durationSeconds: durationMs / 1000, ...completed?.totals },
    constraints: constraints.map((c) => ({ kind: c.kind, name: c.name, enforcementAction: c.enforcementAction, totalViolations: c.totalViolations })),
    ...(errors.length ? { errors } : {}),
  });
  return {
    auditId: run.auditId,
    startedAt: run.startedAt.toISOString(),
    durationMs,
    totalObjects: objects,
    totalViolations: total,
    violationsByAction: byAction,
    constraints,
    errors,
    ...(completed?.totals ? { lifecycle: completed.totals } : {}),
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
  if (r.lifecycle) {
    const l = r.lifecycle;
    lines.push(`violation lifecycle: ${l.opened} opened, ${l.resolved} resolved, ${l.ongoing} ongoing${l.unverified ? `, ${l.unverified} unverified` : ''}`);
  }
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
