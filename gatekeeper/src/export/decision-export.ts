// Turns decisions into records and hands them to the exporter's client. Never throws into, nor waits in, the request path.
import type { ExportClient } from '@gk-exporter/exporter/client';
import { redactObject, type RecordSource } from '@gk-exporter/exporter/record';
import type { Logger } from 'pino';
import type { Violation } from '../policy/engine.js';
import type { AdmissionRequest } from '../webhook/admission-review.js';
import {
  admissionDecisionRecord,
  admissionShared,
  auditCompletedRecord,
  auditStartedRecord,
  violationAdmissionRecord,
  violationAuditedRecord,
  pickLabels,
  type AdmissionOutcome,
  type AuditCompletion,
  type AuditRun,
  type DecisionRecord,
  type ProcessSource,
  type ResourceIdentity,
} from './records.js';
import { admissionRecordLines, objectTail } from './record-lines.js';
import { applyFieldPolicy, type FieldPolicy } from './redact.js';
import { violationOpenedRecord, violationResolvedRecord } from '../audit/lifecycle/records.js';
import type { ResolvedPair } from '../audit/lifecycle/run.js';

export interface DecisionExportOptions {
  /** Export admission_decision for allowed reviews without violations too. */
  includeAllowed: boolean;
  /** Add the reviewed object to admission_decision records (Gatekeeper never exports it). */
  includeObject: boolean;
  /** Paths inside the object replaced by "[redacted]" (listed in the record's redactedPaths); `*` matches any key. */
  objectRedact: string[];
  fieldPolicy: FieldPolicy;
  source: ProcessSource;
  /** Namespace label keys copied into records as namespaceLabels (routing per tenant); empty: none. */
  namespaceLabelKeys: string[];
  /** On close, how long to wait for the exporter to acknowledge what is still held. */
  flushTimeoutMs: number;
}

export class DecisionExport {
  private sent = 0;
  private failed = 0;
  private exportedAudit = 0;
  // `gatekeeper run` serves both parts in one process (or either, per --operation): the component goes by the record.
  private readonly admissionSource: RecordSource;
  private readonly auditSource: RecordSource;

  constructor(
    private readonly client: ExportClient,
    private readonly opts: DecisionExportOptions,
    private readonly logger: Logger,
  ) {
    this.admissionSource = withComponent('webhook', opts.source);
    this.auditSource = withComponent('audit', opts.source);
  }

  get stats(): { sent: number; failed: number } {
    return { sent: this.sent, failed: this.failed };
  }

  private emit(rec: DecisionRecord): void {
    try {
      applyFieldPolicy(rec, this.opts.fieldPolicy);
      this.client.send(rec);
      this.sent++;
    } catch (e) {
      this.failed++;
      this.logger.error({ err: e, eventType: rec.eventType, decisionId: rec.decisionId }, 'could not hand a record to the export client');
    }
  }

  private emitLine(line: string): void {
    try {
      this.client.send(line);
      this.sent++;
    } catch (e) {
      this.failed++;
      this.logger.error({ err: e }, 'could not hand a record to the export client');
    }
  }

  admission(req: AdmissionRequest, object: any, outcome: AdmissionOutcome): void {
    if (outcome.allowed && !outcome.violations.length && !this.opts.includeAllowed) return;
    if (outcome.namespaceLabels) outcome = { ...outcome, namespaceLabels: pickLabels(outcome.namespaceLabels, this.opts.namespaceLabelKeys) };
    const now = new Date();
    const { omit, redact } = this.opts.fieldPolicy;
    if (!omit.length && !redact.length) {
      // The common case, on the webhook's thread: the review's records serialised directly, their shared fields once.
      let tail = '';
      if (this.opts.includeObject && object && typeof object === 'object') {
        const { object: redacted, redactedPaths } = redactObject(object, this.opts.objectRedact);
        tail = objectTail(redacted, redactedPaths);
      }
      for (const line of admissionRecordLines(req, object, outcome, this.admissionSource, now, tail)) this.emitLine(line);
      return;
    }
    const decision = admissionDecisionRecord(req, object, outcome, this.admissionSource, now);
    if (this.opts.includeObject && object && typeof object === 'object') {
      const { object: redacted, redactedPaths } = redactObject(object, this.opts.objectRedact);
      decision.object = redacted;
      if (redactedPaths.length) decision.redactedPaths = redactedPaths;
    }
    this.emit(decision);
    if (!outcome.violations.length) return;
    const shared = admissionShared(req, object, this.admissionSource, outcome.namespaceLabels);
    for (const v of outcome.violations) this.emit(violationAdmissionRecord(req, object, v, this.admissionSource, now, shared));
  }

  auditStarted(run: AuditRun): void {
    this.exportedAudit = 0;
    this.emit(auditStartedRecord(run, this.auditSource));
  }

  /** namespaceLabels: all the labels of the resource's namespace (the allowed keys are kept). */
  auditViolation(run: AuditRun, resource: ResourceIdentity, v: Violation, namespaceLabels?: Record<string, string>): void {
    this.exportedAudit++;
    const labels = pickLabels(namespaceLabels, this.opts.namespaceLabelKeys);
    this.emit(violationAuditedRecord(run, labels ? { ...resource, namespaceLabels: labels } : resource, v, this.auditSource));
  }

  /** The namespace labels this export copies into records (--export-namespace-labels), or undefined. */
  exportedNamespaceLabels(labels: Record<string, string> | undefined): Record<string, string> | undefined {
    return pickLabels(labels, this.opts.namespaceLabelKeys);
  }

  /** violation_opened: a (constraint, resource) pair an audit found for the first time. */
  violationOpened(run: AuditRun, constraint: string, resource: string, target: ResourceIdentity, v: Violation, namespaceLabels?: Record<string, string>): void {
    const labels = pickLabels(namespaceLabels, this.opts.namespaceLabelKeys);
    this.emit(violationOpenedRecord(run, constraint, resource, labels ? { ...target, namespaceLabels: labels } : target, v, this.auditSource));
  }

  /** violation_resolved: an open pair the audit no longer found. */
  violationResolved(run: AuditRun, pair: ResolvedPair): void {
    this.emit(violationResolvedRecord(run, pair, this.auditSource));
  }

  auditCompleted(run: AuditRun, completion: AuditCompletion): void {
    this.emit(auditCompletedRecord(run, { ...completion, totals: { ...completion.totals, exported: this.exportedAudit } }, this.auditSource));
  }

  /**
   * The audit is not latency-bound and must not lose records: when half the client's buffer awaits acknowledgement,
   * wait for the exporter (without a spill file, a full buffer would drop).
   */
  async backpressure(): Promise<void> {
    const c = this.client;
    if (c.stats().buffered < c.stats().bufferCapacity / 2) return;
    while (!(await c.flush(5_000))) this.logger.warn({ buffered: c.stats().buffered }, 'waiting for the exporter to acknowledge audit records');
  }

  /** Resolves true once the exporter has acknowledged every record handed over so far, false after timeoutMs. */
  acknowledged(timeoutMs = this.opts.flushTimeoutMs): Promise<boolean> {
    return this.client.flush(timeoutMs);
  }

  /** Resolves false when records were not acknowledged in time (kept in the spill file, or dropped without one). */
  close(): Promise<boolean> {
    return this.client.close({ flushTimeoutMs: this.opts.flushTimeoutMs });
  }
}

/** proto-docs/record.md: admission records come from the webhook, the others from the audit. */
function withComponent(component: 'webhook' | 'audit', source: ProcessSource): RecordSource {
  // Frozen: its JSON is made once and reused for every record (record-lines.ts).
  return Object.freeze({ component, ...source });
}
