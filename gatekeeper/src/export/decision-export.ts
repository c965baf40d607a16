// Turns decisions into records and hands them to the exporter's client. Never throws into, nor waits in, the request path.
import type { Logger } from 'pino';
import type { Violation } from '../policy/engine.js';
import type { AdmissionRequest } from '../webhook/admission-review.js';
import {
  admissionDecisionRecord,
  auditCompletedRecord,
  auditStartedRecord,
  violationAdmissionRecord,
  violationAuditedRecord,
  type AdmissionOutcome,
  type AuditRun,
  type AuditTotals,
  type ExportRecord,
  type ResourceIdentity,
} from './records.js';
import { applyFieldPolicy, type FieldPolicy } from './redact.js';

/** What this module needs of the exporter's client (ExportClient satisfies it). */
export interface RecordSender {
  send(record: Record<string, unknown>): unknown;
  close(): Promise<unknown>;
}

export interface DecisionExportOptions {
  /** Export admission_decision for allowed reviews too (violations of allowed reviews are always exported). */
  includeAllowed: boolean;
  /** Add the reviewed object (and oldObject) to admission_decision records. Off by default: Gatekeeper never exports it. */
  includeObject: boolean;
  fieldPolicy: FieldPolicy;
}

export class DecisionExport {
  private sent = 0;
  private failed = 0;

  constructor(
    private readonly client: RecordSender,
    private readonly opts: DecisionExportOptions,
    private readonly logger: Logger,
  ) {}

  get stats(): { sent: number; failed: number } {
    return { sent: this.sent, failed: this.failed };
  }

  private emit(rec: ExportRecord): void {
    try {
      applyFieldPolicy(rec, this.opts.fieldPolicy);
      this.client.send(rec);
      this.sent++;
    } catch (e) {
      this.failed++;
      this.logger.error({ err: e, eventType: rec.eventType, decisionId: rec.decisionId }, 'could not hand a record to the export client');
    }
  }

  admission(req: AdmissionRequest, object: any, outcome: AdmissionOutcome): void {
    const now = new Date();
    const decision = admissionDecisionRecord(req, object, outcome, now);
    if (this.opts.includeObject) {
      if (object !== undefined) decision['object'] = object;
      if (req.oldObject) decision['oldObject'] = req.oldObject;
    }
    if (!outcome.allowed || outcome.violations.length || this.opts.includeAllowed) this.emit(decision);
    for (const v of outcome.violations) this.emit(violationAdmissionRecord(req, object, v, decision.decisionId, now));
  }

  auditStarted(run: AuditRun, extra?: Record<string, unknown>): void {
    this.emit(auditStartedRecord(run, extra));
  }

  auditViolation(run: AuditRun, resource: ResourceIdentity, v: Violation): void {
    this.emit(violationAuditedRecord(run, resource, v));
  }

  auditCompleted(run: AuditRun, totals: AuditTotals): void {
    this.emit(auditCompletedRecord(run, totals));
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
