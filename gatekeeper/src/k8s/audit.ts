// The cluster audit, as Gatekeeper's audit manager: every --audit-interval seconds it lists every listable kind found
// through discovery (or, with --audit-from-cache, the kinds synced by the Config), page by page (--audit-chunk-size),
// evaluating each page with the standalone audit's loop (runAudit: same evaluation, same uncapped export) before the
// next one is fetched, so memory holds one page whatever the cluster's size; then it writes each constraint's status
// (auditTimestamp, totalViolations, violations capped at --constraint-violations-limit) and the metrics.
import type { Logger } from 'pino';
import type { DecisionExport } from '../export/decision-export.js';
import { chunksOf, runAudit, type AuditChunk, type AuditReport, type ConstraintSummary } from '../audit/run-audit.js';
import type { NamespaceSource } from '../match/match.js';
import type { PolicyEngine, Violation } from '../policy/engine.js';
import type { Expander } from '../expansion/expansion.js';
import { NamespaceExemptions } from '../webhook/namespaces.js';
import { resourcePath, type KubeClient, type KubeObject } from './client.js';
import { listPages } from './list-pages.js';
import type { ConfigController } from './config-controller.js';
import { discoverResources, type ApiResource } from './discovery.js';
import type { AuditMetrics } from './audit-metrics.js';
import { constraintsPath, type PolicyController } from './policy-controller.js';
import { updateStatus } from './status.js';
import type { ViolationLifecycle } from '../audit/lifecycle/lifecycle.js';

export interface ClusterAuditOptions {
  engine: PolicyEngine;
  policies: PolicyController;
  config?: ConfigController;
  /** Seconds between runs; 0 disables the periodic audit. */
  intervalSeconds: number;
  /** Page size of the list requests. */
  chunkSize: number;
  /** Violations kept in each constraint's status. */
  violationsLimit: number;
  /** Audit only the kinds synced by the Config, from the watch caches, instead of listing the cluster. */
  fromCache: boolean;
  /** List only the kinds some constraint matches (every kind when a constraint matches all). */
  matchKindOnly: boolean;
  /** The Namespaces namespaceSelector reads (else data.inventory's). */
  namespaces?: NamespaceSource;
  /** Write results into the constraints' status. */
  writeStatus: boolean;
  /** Run only while this returns true (leader election). */
  isLeader?: () => boolean;
  exporter?: DecisionExport;
  /** The ExpansionTemplates in force: a listed object is also reviewed as what it implies (not from the cache, as Gatekeeper). */
  expander?: () => Expander;
  /** Each violation found, with the run's auditTimestamp (Kubernetes Events). */
  onViolation?: (auditTimestamp: string, object: any, v: Violation) => void;
  metrics: AuditMetrics;
  logger: Logger;
  /** How often a running audit logs its progress (default 10 s). */
  progressEveryMs?: number;
  /** violation_opened / violation_resolved across runs (state in ConfigMaps). */
  lifecycle?: ViolationLifecycle;
}

export interface ClusterAuditResult extends AuditReport {
  resources: number;
  listErrors: string[];
}

export class ClusterAudit {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<ClusterAuditResult | undefined> | undefined;
  private stopped = false;
  private runs = 0;
  /** The last completed run (for status reporting and tests). */
  last: ClusterAuditResult | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: ClusterAuditOptions,
  ) {}

  get completedRuns(): number {
    return this.runs;
  }

  start(): void {
    if (this.opts.intervalSeconds <= 0) {
      this.opts.logger.info('periodic audit disabled (--audit-interval=0)');
      return;
    }
    const tick = async () => {
      if (this.stopped) return;
      if (!this.opts.isLeader || this.opts.isLeader()) await this.runOnce().catch((e) => this.opts.logger.error({ err: (e as Error).message }, 'audit failed'));
      if (!this.stopped) this.timer = setTimeout(tick, this.opts.intervalSeconds * 1000);
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current?.catch(() => undefined);
  }

  /** One audit run now (runs are never concurrent: a call during a run waits for it). */
  runOnce(): Promise<ClusterAuditResult | undefined> {
    if (this.current) return this.current;
    this.current = this.run().finally(() => (this.current = undefined));
    return this.current;
  }

  private excluded(): NamespaceExemptions {
    try {
      return new NamespaceExemptions(this.opts.config?.excluded.audit ?? []);
    } catch {
      return new NamespaceExemptions([]);
    }
  }

  private async run(): Promise<ClusterAuditResult> {
    const { logger } = this.opts;
    const startedAt = Date.now();
    const auditTimestamp = new Date(startedAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const listErrors: string[] = [];
    // What this run could not list: the lifecycle keeps those kinds' open pairs open instead of resolving them.
    const unlisted = { groups: new Set<string>(), kinds: new Set<string>() };
    let resources: ApiResource[];
    if (this.opts.fromCache) {
      resources = [];
    } else {
      const discovered = await discoverResources(this.client);
      for (const gv of discovered.failed) {
        listErrors.push(`discovery of ${gv} failed`);
        unlisted.groups.add(gv.includes('/') ? gv.slice(0, gv.indexOf('/')) : '');
      }
      resources = this.selectResources(discovered.resources);
    }
    for (const e of listErrors) logger.warn(e);
    const source = this.opts.fromCache ? this.cachedChunks() : this.listedChunks(resources, listErrors, unlisted.kinds);

    const report = await runAudit({
      engine: this.opts.engine,
      source,
      logger,
      violationsLimit: this.opts.violationsLimit,
      ...(this.opts.expander && !this.opts.fromCache ? { expander: this.opts.expander() } : {}),
      ...(this.opts.namespaces ? { namespaces: this.opts.namespaces } : {}),
      ...(this.opts.exporter ? { exporter: this.opts.exporter } : {}),
      ...(this.opts.onViolation ? { onViolation: (obj: any, v: Violation) => this.opts.onViolation!(auditTimestamp, obj, v) } : {}),
      progressEveryMs: this.opts.progressEveryMs ?? 10_000,
      onProgress: (p) => logger.info({ objects: p.objects, violations: p.violations, resource: p.resource }, 'audit in progress'),
      onResourceDone: (resource, counts) => logger.debug({ resource, ...counts }, 'audited resource'),
      ...(this.opts.lifecycle ? { lifecycle: this.opts.lifecycle, unverifiedKind: (group: string, kind: string) => unlisted.groups.has(group) || unlisted.kinds.has(`${group}/${kind}`) } : {}),
    });
    const durationMs = Date.now() - startedAt;
    this.opts.metrics.record(startedAt, durationMs, report.violationsByAction, report.totalObjects);
    if (report.lifecycle) this.opts.metrics.recordLifecycle(report.lifecycle);
    if (this.opts.writeStatus) await this.writeStatuses(report, auditTimestamp);
    this.runs++;
    const resourceCount = this.opts.fromCache ? (this.opts.config?.syncedResources().length ?? 0) : resources.length;
    const result: ClusterAuditResult = { ...report, durationMs, resources: resourceCount, listErrors };
    this.last = result;
    logger.info(
      { auditId: report.auditId, resources: resourceCount, objects: report.totalObjects, constraints: report.constraints.length, violations: report.totalViolations, durationMs },
      'audit completed',
    );
    return result;
  }

  /** Objects outside the namespaces the Config excludes from the audit. */
  private auditable(): (o: KubeObject) => boolean {
    const excluded = this.excluded();
    return (o) => !o.metadata?.namespace || !excluded.isExempt(o.metadata.namespace);
  }

  /** The synced kinds' watch caches, --audit-chunk-size objects at a time. */
  private *cachedChunks(): Generator<AuditChunk> {
    const keep = this.auditable();
    for (const s of this.opts.config?.syncedResources() ?? []) {
      const resource = `${s.resource.groupVersion} ${s.resource.plural}`;
      const kept = s.objects.filter(keep);
      yield* chunksOf(kept, this.opts.chunkSize, resource);
    }
  }

  /**
   * Each resource listed page by page. The next page is requested when one is handed over for evaluation, so the API
   * server prepares it meanwhile: at most two pages are held at a time.
   */
  private async *listedChunks(resources: ApiResource[], listErrors: string[], unlistedKinds: Set<string>): AsyncGenerator<AuditChunk> {
    const keep = this.auditable();
    for (const r of resources) {
      const resource = `${r.groupVersion} ${r.plural}`;
      const path = resourcePath({ group: r.group, version: r.version, plural: r.plural });
      // A list longer than the API server keeps its snapshot (etcd compaction, 5 min by default) gets 410 Gone on its
      // continue token: it resumes from the next object instead of skipping the rest of the kind.
      const onExpired = (how: 'resumed' | 'restarted') =>
        this.opts.logger.warn({ resource, how }, 'audit: the list snapshot expired (410 Gone); going on from the current data');
      try {
        for await (const items of listPages(this.client, path, { limit: this.opts.chunkSize, timeoutMs: 120_000, onExpired })) {
          for (const item of items) {
            item.apiVersion = r.groupVersion;
            item.kind = r.kind;
          }
          yield { resource, objects: items.filter(keep) };
        }
      } catch (e) {
        const message = `listing ${resource}: ${(e as Error).message}`;
        listErrors.push(message);
        unlistedKinds.add(`${r.group}/${r.kind}`);
        this.opts.logger.warn(message);
      }
    }
  }

  private selectResources(all: ApiResource[]): ApiResource[] {
    const listable = all.filter((r) => r.verbs.includes('list'));
    if (!this.opts.matchKindOnly) return listable;
    const kinds = new Set<string>();
    for (const { obj } of this.opts.policies.constraintObjects()) {
      const entries: Array<{ apiGroups?: string[]; kinds?: string[] }> = obj.spec?.match?.kinds ?? [];
      if (!entries.length) return listable;
      for (const e of entries) {
        const groups = e.apiGroups?.length ? e.apiGroups : ['*'];
        const ks = e.kinds?.length ? e.kinds : ['*'];
        for (const g of groups) for (const k of ks) kinds.add(`${g}/${k}`);
      }
    }
    return listable.filter((r) => kinds.has(`*/*`) || kinds.has(`${r.group}/*`) || kinds.has(`*/${r.kind}`) || kinds.has(`${r.group}/${r.kind}`));
  }

  private async writeStatuses(report: AuditReport, auditTimestamp: string): Promise<void> {
    const byKey = new Map<string, ConstraintSummary>(report.constraints.map((c) => [`${c.kind}/${c.name}`, c]));
    const targets = this.opts.policies.constraintObjects();
    let i = 0;
    const worker = async () => {
      while (i < targets.length) {
        const { kind, obj } = targets[i++]!;
        const s = byKey.get(`${kind}/${obj.metadata.name}`);
        await updateStatus(this.client, constraintsPath(kind, obj.metadata.name), (status) => {
          status['auditTimestamp'] = auditTimestamp;
          status['totalViolations'] = s?.totalViolations ?? 0;
          status['violations'] = (s?.violations ?? []).map((v) => ({
            enforcementAction: v.enforcementAction,
            ...(v.enforcementActions ? { enforcementActions: v.enforcementActions } : {}),
            group: v.group,
            version: v.version,
            kind: v.kind,
            ...(v.namespace ? { namespace: v.namespace } : {}),
            name: v.name ?? '',
            message: v.message,
          }));
        }).catch((e) => this.opts.logger.warn({ constraint: `${kind}/${obj.metadata.name}`, err: (e as Error).message }, 'could not write audit status'));
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, targets.length) }, worker));
  }
}
