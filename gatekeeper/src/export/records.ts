// Building decision records (proto-docs/record.md). Violation records carry Gatekeeper's export message fields, filled the
// way Gatekeeper fills them (pkg/export/util ExportMsg, pkg/audit, pkg/webhook admission export); every record adds its own
// decisionId, and audit records the run's auditId.
import { randomUUID } from 'node:crypto';
import type { ConstraintRef, Violation } from '../policy/engine.js';
import type { AdmissionRequest } from '../webhook/admission-review.js';

export const SCHEMA_VERSION = '1';
export const CONSTRAINT_GROUP = 'constraints.gatekeeper.sh';
export const CONSTRAINT_VERSION = 'v1beta1';
export const AUDIT_STARTED_MSG = 'audit is started';
export const AUDIT_COMPLETED_MSG = 'audit is completed';
/** Gatekeeper leaves this annotation out of constraintAnnotations: it is large and repeats the constraint. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export type ExportRecord = Record<string, unknown> & { decisionId: string; eventType: string; timestamp: string };

function base(eventType: string, now: Date): ExportRecord {
  return { schemaVersion: SCHEMA_VERSION, decisionId: randomUUID(), timestamp: now.toISOString(), eventType };
}

function setIf(rec: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined || value === null || value === '') return;
  if (Array.isArray(value) && value.length === 0) return;
  if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value as object).length === 0) return;
  rec[key] = value;
}

function constraintAnnotations(c: ConstraintRef): Record<string, string> | undefined {
  if (!c.annotations) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.annotations)) if (k !== LAST_APPLIED) out[k] = v;
  return out;
}

/** The constraint half of Gatekeeper's ExportMsg (group/version/kind/name are the constraint's). */
function constraintFields(rec: Record<string, unknown>, v: Violation): void {
  rec['group'] = CONSTRAINT_GROUP;
  rec['version'] = CONSTRAINT_VERSION;
  rec['kind'] = v.constraint.kind;
  rec['name'] = v.constraint.name;
  setIf(rec, 'message', v.msg);
  setIf(rec, 'details', v.details);
  // Gatekeeper reports the constraint's own action; for `scoped` it lists the actions that applied at this enforcement point.
  rec['enforcementAction'] = v.constraint.enforcementAction || v.enforcementAction;
  if (v.constraint.enforcementAction === 'scoped') rec['enforcementActions'] = [v.enforcementAction];
  setIf(rec, 'constraintAnnotations', constraintAnnotations(v.constraint));
}

export interface ResourceIdentity {
  group: string;
  version: string;
  kind: string;
  namespace?: string;
  name?: string;
  labels?: Record<string, string>;
}

function resourceFields(rec: Record<string, unknown>, r: ResourceIdentity): void {
  setIf(rec, 'resourceGroup', r.group);
  setIf(rec, 'resourceAPIVersion', r.version);
  setIf(rec, 'resourceKind', r.kind);
  setIf(rec, 'resourceNamespace', r.namespace);
  setIf(rec, 'resourceName', r.name);
  setIf(rec, 'resourceLabels', r.labels);
}

/** Resource identity of an admission request; name and namespace fall back to the object's metadata, as in Gatekeeper. */
export function admissionResource(req: AdmissionRequest, object: any): ResourceIdentity {
  const meta = object && typeof object === 'object' ? object.metadata ?? {} : {};
  return {
    group: req.kind.group,
    version: req.kind.version,
    kind: req.kind.kind,
    namespace: req.namespace || meta.namespace || undefined,
    name: req.name || meta.name || meta.generateName || undefined,
    labels: meta.labels && typeof meta.labels === 'object' ? meta.labels : undefined,
  };
}

/** The request half Gatekeeper adds to admission records; the original resource wins when the API server converted it. */
function requestFields(rec: Record<string, unknown>, req: AdmissionRequest): void {
  setIf(rec, 'operation', req.operation);
  setIf(rec, 'requestResource', req.requestResource?.resource || req.resource?.resource);
  setIf(rec, 'requestSubresource', req.requestSubResource || req.subResource);
  setIf(rec, 'requestUsername', req.userInfo?.username);
  setIf(rec, 'requestUserUID', req.userInfo?.uid);
  setIf(rec, 'requestUserGroups', req.userInfo?.groups);
  rec['dryRun'] = req.dryRun === true;
}

export interface AdmissionOutcome {
  allowed: boolean;
  /** The message the API server shows (joined deny messages), or the error. */
  message?: string;
  warnings: string[];
  violations: Violation[];
  evaluatedConstraints: number;
  durationMs: number;
  /** Skipped evaluation: exempt namespace. */
  exempt?: boolean;
  /** Evaluation failed (deadline, engine error): the response was an error. */
  error?: string;
}

/** One admission_decision per review (not in Gatekeeper, which only exports violations). */
export function admissionDecisionRecord(req: AdmissionRequest, object: any, outcome: AdmissionOutcome, now = new Date()): ExportRecord {
  const rec = base('admission_decision', now);
  rec['id'] = req.uid || now.toISOString();
  rec['allowed'] = outcome.allowed;
  setIf(rec, 'message', outcome.message);
  setIf(rec, 'warnings', outcome.warnings);
  const counts = { deny: 0, warn: 0, dryrun: 0 };
  for (const v of outcome.violations) if (v.enforcementAction in counts) counts[v.enforcementAction as keyof typeof counts]++;
  rec['violationCount'] = outcome.violations.length;
  rec['violationsByAction'] = counts;
  rec['evaluatedConstraints'] = outcome.evaluatedConstraints;
  rec['durationMs'] = Math.round(outcome.durationMs * 1000) / 1000;
  if (outcome.exempt) rec['exempt'] = true;
  setIf(rec, 'error', outcome.error);
  resourceFields(rec, admissionResource(req, object));
  requestFields(rec, req);
  return rec;
}

/** One violation_admission per violation, linked to its admission_decision by admissionDecisionId. */
export function violationAdmissionRecord(
  req: AdmissionRequest,
  object: any,
  v: Violation,
  admissionDecisionId: string,
  now = new Date(),
): ExportRecord {
  const rec = base('violation_admission', now);
  rec['id'] = req.uid || now.toISOString();
  rec['admissionDecisionId'] = admissionDecisionId;
  constraintFields(rec, v);
  resourceFields(rec, admissionResource(req, object));
  requestFields(rec, req);
  return rec;
}

export interface AuditRun {
  /** Gatekeeper's audit id: the run's start time, RFC 3339 (shared by every record of the run, as in Gatekeeper). */
  id: string;
  /** Unique id of the run (Gatekeeper's id is only a timestamp, which two runs can share). */
  auditId: string;
  startedAt: Date;
}

export function newAuditRun(now = new Date()): AuditRun {
  return { id: now.toISOString().replace(/\.\d{3}Z$/, 'Z'), auditId: randomUUID(), startedAt: now };
}

export function auditStartedRecord(run: AuditRun, extra: Record<string, unknown> = {}, now = new Date()): ExportRecord {
  return { ...base('audit_started', now), id: run.id, auditId: run.auditId, message: AUDIT_STARTED_MSG, ...extra };
}

/** The identity of an audited object (from its apiVersion / kind / metadata). */
export function objectResource(obj: any): ResourceIdentity {
  const apiVersion: string = typeof obj?.apiVersion === 'string' ? obj.apiVersion : '';
  const slash = apiVersion.indexOf('/');
  const meta = obj?.metadata ?? {};
  return {
    group: slash >= 0 ? apiVersion.slice(0, slash) : '',
    version: slash >= 0 ? apiVersion.slice(slash + 1) : apiVersion,
    kind: typeof obj?.kind === 'string' ? obj.kind : '',
    namespace: typeof meta.namespace === 'string' ? meta.namespace : undefined,
    name: typeof meta.name === 'string' ? meta.name : undefined,
    labels: meta.labels && typeof meta.labels === 'object' ? meta.labels : undefined,
  };
}

export function violationAuditedRecord(run: AuditRun, resource: ResourceIdentity, v: Violation, now = new Date()): ExportRecord {
  const rec = base('violation_audited', now);
  rec['id'] = run.id;
  rec['auditId'] = run.auditId;
  constraintFields(rec, v);
  resourceFields(rec, resource);
  return rec;
}

export interface AuditTotals {
  objects: number;
  constraints: number;
  violations: number;
  violationsByAction: Record<string, number>;
  durationMs: number;
  perConstraint: Array<{ kind: string; name: string; enforcementAction: string; totalViolations: number }>;
  errors?: string[];
}

export function auditCompletedRecord(run: AuditRun, totals: AuditTotals, now = new Date()): ExportRecord {
  const rec: ExportRecord = { ...base('audit_completed', now), id: run.id, auditId: run.auditId, message: AUDIT_COMPLETED_MSG };
  rec['totalObjects'] = totals.objects;
  rec['totalConstraints'] = totals.constraints;
  rec['totalViolations'] = totals.violations;
  rec['violationsByAction'] = totals.violationsByAction;
  rec['durationMs'] = Math.round(totals.durationMs);
  rec['constraints'] = totals.perConstraint;
  setIf(rec, 'errors', totals.errors);
  return rec;
}
