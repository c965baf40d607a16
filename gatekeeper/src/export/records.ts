// Building decision records (proto-docs/record.md, exporter/src/record). Violation records carry Gatekeeper's export
// message fields filled the way Gatekeeper fills them (pkg/export/util ExportMsg, pkg/audit, the webhook's admission export);
// every record gets its own decisionId (UUIDv7) from the exporter's builders.
import {
  SCHEMA_VERSION,
  admissionDecision,
  auditCompleted,
  auditStarted,
  newDecisionId,
  violationAudited,
  type AuditTotals,
  type ClusterIdentity,
  type DecisionRecord,
  type ImpliedResource,
  type RecordSource,
  type ViolationItem,
  type ViolationSummary,
} from '@gk-exporter/exporter/record';
import { createRequire } from 'node:module';
import os from 'node:os';
import type { ConstraintRef, Violation } from '../policy/engine.js';
import type { AdmissionRequest } from '../webhook/admission-review.js';

export const CONSTRAINT_GROUP = 'constraints.gatekeeper.sh';
export const CONSTRAINT_VERSION = 'v1beta1';
/** Gatekeeper leaves this annotation out of constraintAnnotations: it is large and repeats the constraint. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** Violations listed inside an admission_decision (each one also gets its own violation_admission record). */
export const DECISION_ITEMS_LIMIT = 20;

export type { DecisionRecord };

export type Fields = Record<string, unknown>;

export function setIf(rec: Fields, key: string, value: unknown): void {
  if (value === undefined || value === null || value === '') return;
  if (Array.isArray(value) && value.length === 0) return;
  if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value as object).length === 0) return;
  rec[key] = value;
}

export function constraintAnnotations(c: ConstraintRef): Record<string, string> | undefined {
  if (!c.annotations) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.annotations)) if (k !== LAST_APPLIED) out[k] = v;
  return out;
}

/**
 * A violation found on a resource an ExpansionTemplate implies: the template, and the generated resource's identity in
 * the resource* field names (the record's own resource* fields stay the reviewed object's, as Gatekeeper reports them).
 */
export function impliedField(v: Violation): ImpliedResource | undefined {
  if (!v.implied) return undefined;
  const r = v.implied.resource;
  // Empty values left out, as in the record's own resource* fields (the core group is "").
  const f: ImpliedResource = { template: v.implied.template };
  if (r.group) f.resourceGroup = r.group;
  f.resourceAPIVersion = r.version;
  f.resourceKind = r.kind;
  if (r.namespace) f.resourceNamespace = r.namespace;
  if (r.name) f.resourceName = r.name;
  return f;
}

/** The constraint half of Gatekeeper's ExportMsg (group/version/kind/name are the constraint's). */
function constraintFields(v: Violation): Fields & { kind: string; name: string; enforcementAction: string } {
  const rec: Fields & { kind: string; name: string; enforcementAction: string } = {
    group: CONSTRAINT_GROUP,
    version: CONSTRAINT_VERSION,
    kind: v.constraint.kind,
    name: v.constraint.name,
    // Gatekeeper reports the constraint's own action; for `scoped` it lists the actions that applied at this point.
    enforcementAction: v.constraint.enforcementAction || v.enforcementAction,
  };
  setIf(rec, 'message', v.msg);
  setIf(rec, 'details', v.details);
  if (v.constraint.enforcementAction === 'scoped') rec['enforcementActions'] = v.enforcementActions ?? [v.enforcementAction];
  setIf(rec, 'constraintAnnotations', constraintAnnotations(v.constraint));
  setIf(rec, 'engine', v.engine);
  setIf(rec, 'policy', v.constraint.policy);
  setIf(rec, 'implied', impliedField(v));
  return rec;
}

export interface ResourceIdentity {
  group: string;
  version: string;
  kind: string;
  namespace?: string;
  name?: string;
  labels?: Record<string, string>;
  /** The labels of the resource's namespace to export (only the allowed keys: pickLabels). */
  namespaceLabels?: Record<string, string>;
}

/** The labels among keys, or undefined when none is there (nothing to export). */
export function pickLabels(labels: Record<string, string> | undefined, keys: readonly string[]): Record<string, string> | undefined {
  if (!labels || !keys.length) return undefined;
  let out: Record<string, string> | undefined;
  for (const k of keys) if (typeof labels[k] === 'string') (out ??= {})[k] = labels[k];
  return out;
}

function resourceFields(rec: Fields, r: ResourceIdentity): void {
  setIf(rec, 'resourceGroup', r.group);
  setIf(rec, 'resourceAPIVersion', r.version);
  setIf(rec, 'resourceKind', r.kind);
  setIf(rec, 'resourceNamespace', r.namespace);
  setIf(rec, 'resourceName', r.name);
  setIf(rec, 'resourceLabels', r.labels);
  setIf(rec, 'namespaceLabels', r.namespaceLabels);
}

/** Resource identity of an admission request; name and namespace fall back to the object's metadata, as in Gatekeeper. */
export function admissionResource(req: AdmissionRequest, object: any): ResourceIdentity {
  const meta = object && typeof object === 'object' ? object.metadata ?? {} : {};
  return {
    group: req.kind.group,
    version: req.kind.version,
    kind: req.kind.kind,
    namespace: req.namespace || meta.namespace || undefined,
    name: req.name || meta.name || undefined,
    labels: meta.labels && typeof meta.labels === 'object' ? meta.labels : undefined,
  };
}

/** The request half Gatekeeper adds to admission records; the original resource wins when the API server converted it. */
function requestFields(rec: Fields, req: AdmissionRequest): void {
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
  /** Evaluation skipped: exempt namespace. */
  exempt?: boolean;
  /** Evaluation failed (deadline, engine error): the response was an error. */
  error?: string;
  /** The labels of the reviewed object's namespace to export: the engine gives them all, DecisionExport keeps the allowed keys. */
  namespaceLabels?: Record<string, string> | undefined;
}

export function violationSummary(violations: Violation[], limit = DECISION_ITEMS_LIMIT): ViolationSummary {
  const byAction: Record<string, number> = {};
  for (const v of violations) byAction[v.enforcementAction] = (byAction[v.enforcementAction] ?? 0) + 1;
  const items: ViolationItem[] = violations.slice(0, limit).map((v) => ({
    constraintKind: v.constraint.kind,
    constraintName: v.constraint.name,
    enforcementAction: v.enforcementAction,
    message: v.msg,
    ...(v.engine ? { engine: v.engine } : {}),
    ...(v.constraint.policy ? { policy: v.constraint.policy } : {}),
    ...(v.implied ? { implied: impliedField(v)! } : {}),
  }));
  const s: ViolationSummary = { total: violations.length, byAction };
  if (items.length) s.items = items;
  if (violations.length > limit) s.truncated = true;
  return s;
}

/** The evaluation's duration as records carry it: milliseconds to the microsecond. */
export function roundedDurationMs(outcome: AdmissionOutcome): number {
  return Math.round(outcome.durationMs * 1000) / 1000;
}

/** The verdict's own fields of an admission_decision, in the record's field order. */
export function verdictFields(outcome: AdmissionOutcome): Fields {
  const f: Fields = {};
  setIf(f, 'message', outcome.message);
  setIf(f, 'warnings', outcome.warnings);
  f['violations'] = violationSummary(outcome.violations);
  f['evaluatedConstraints'] = outcome.evaluatedConstraints;
  f['durationMs'] = roundedDurationMs(outcome);
  if (outcome.exempt) f['exempt'] = true;
  setIf(f, 'error', outcome.error);
  return f;
}

/** One admission_decision per review (Gatekeeper has no such record: it only exports violations). */
export function admissionDecisionRecord(req: AdmissionRequest, object: any, outcome: AdmissionOutcome, source?: RecordSource, now = new Date()): DecisionRecord {
  const uid = req.uid || now.toISOString();
  const rec = Object.assign(verdictFields(outcome), admissionShared(req, object, source, outcome.namespaceLabels));
  return admissionDecision({ ...rec, admissionUID: uid, allowed: outcome.allowed, operation: req.operation ?? '' }, now);
}

/** The request and resource fields every violation_admission of one review shares: computed once per review. */
export function admissionShared(req: AdmissionRequest, object: any, source?: RecordSource, namespaceLabels?: Record<string, string>): Fields {
  const rec: Fields = {};
  resourceFields(rec, admissionResource(req, object));
  setIf(rec, 'namespaceLabels', namespaceLabels);
  requestFields(rec, req);
  if (source) rec['source'] = source;
  return rec;
}

/** One violation_admission per violation; admissionUID (and id, as in Gatekeeper) links it to its admission_decision. */
export function violationAdmissionRecord(
  req: AdmissionRequest,
  object: any,
  v: Violation,
  source?: RecordSource,
  now = new Date(),
  shared: Fields = admissionShared(req, object, source),
): DecisionRecord {
  // Built by hand rather than with the builder's spreads: this runs once per violation on the webhook's thread.
  // Same envelope and field order as violationAdmission() (exporter/src/record/builders.ts).
  const uid = req.uid || now.toISOString();
  const rec: DecisionRecord = {
    schemaVersion: SCHEMA_VERSION,
    decisionId: newDecisionId(now.getTime()),
    timestamp: now.toISOString(),
    eventType: 'violation_admission',
    id: uid,
    group: CONSTRAINT_GROUP,
    version: CONSTRAINT_VERSION,
    kind: v.constraint.kind,
    name: v.constraint.name,
    enforcementAction: v.constraint.enforcementAction || v.enforcementAction,
  };
  if (v.msg) rec.message = v.msg;
  if (v.details !== undefined && v.details !== null) rec.details = v.details;
  if (v.constraint.enforcementAction === 'scoped') rec.enforcementActions = v.enforcementActions ?? [v.enforcementAction];
  if (v.constraint.annotations) setIf(rec, 'constraintAnnotations', constraintAnnotations(v.constraint));
  if (v.engine) rec.engine = v.engine;
  if (v.constraint.policy) rec.policy = v.constraint.policy;
  if (v.implied) rec['implied'] = impliedField(v);
  for (const k in shared) rec[k] = shared[k];
  rec.admissionUID = uid;
  return rec;
}

export interface AuditRun {
  /**
   * The run's id, shared by every record of the run as auditId and Gatekeeper's id: the start time in RFC 3339
   * (Gatekeeper uses whole seconds; milliseconds here keep two runs apart).
   */
  auditId: string;
  startedAt: Date;
}

export function newAuditRun(now = new Date()): AuditRun {
  return { auditId: now.toISOString(), startedAt: now };
}

export function auditStartedRecord(run: AuditRun, source?: RecordSource, now = new Date()): DecisionRecord {
  return auditStarted({ auditId: run.auditId, ...(source ? { source } : {}) }, now);
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

export function violationAuditedRecord(run: AuditRun, resource: ResourceIdentity, v: Violation, source?: RecordSource, now = new Date()): DecisionRecord {
  const rec: Fields = {};
  resourceFields(rec, resource);
  if (source) rec['source'] = source;
  return violationAudited({ ...constraintFields(v), ...rec, auditId: run.auditId }, now);
}

export interface AuditCompletion {
  totals: AuditTotals;
  /** Per-constraint totals (all violations, not only the listed ones). */
  constraints: Array<{ kind: string; name: string; enforcementAction: string; totalViolations: number }>;
  errors?: string[];
}

export function auditCompletedRecord(run: AuditRun, c: AuditCompletion, source?: RecordSource, now = new Date()): DecisionRecord {
  const extra: Fields = { constraints: c.constraints };
  setIf(extra, 'errors', c.errors);
  if (source) extra['source'] = source;
  return auditCompleted({ ...extra, auditId: run.auditId, totals: c.totals }, now);
}

/** The engine's version, from its package.json (read once). */
export const ENGINE_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** The process's part of a record's source; DecisionExport adds the component per record. */
export type ProcessSource = Omit<RecordSource, 'component'>;

/**
 * Who produced the records, built once per process: the pod / namespace / node when the Downward API provides them,
 * the replica (the pod, else the host name), the engine's version and the cluster's identity.
 */
export function recordSource(version = ENGINE_VERSION, cluster?: ClusterIdentity): ProcessSource {
  const s: ProcessSource = {};
  const env = process.env;
  if (env['POD_NAME']) s.pod = env['POD_NAME'];
  if (env['POD_NAMESPACE']) s.namespace = env['POD_NAMESPACE'];
  if (env['NODE_NAME']) s.node = env['NODE_NAME'];
  s.replica = env['POD_NAME'] || os.hostname();
  if (version) s.version = version;
  if (cluster && (cluster.name || Object.keys(cluster.labels ?? {}).length)) {
    const c: ClusterIdentity = {};
    if (cluster.name) c.name = cluster.name;
    if (cluster.labels && Object.keys(cluster.labels).length) c.labels = cluster.labels;
    s.cluster = c;
  }
  return s;
}
