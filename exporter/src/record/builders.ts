// Small builders the engine uses to make records: they fill the envelope (schemaVersion, decisionId, timestamp,
// eventType) and the Gatekeeper-compatible fields that mirror ours (id, message for audit frames).
import { newDecisionId } from './id.js';
import { SCHEMA_VERSION } from './schema.js';
import type { AuditTotals, DecisionRecord, EventType, ViolationResolution, ViolationSummary } from './types.js';

/** Everything but the envelope; decisionId / timestamp may be given to override the generated ones. */
export type RecordFields = Omit<DecisionRecord, 'eventType' | 'decisionId' | 'timestamp' | 'schemaVersion'> & {
  decisionId?: string;
  timestamp?: string;
};

/** Gatekeeper's messages framing an audit run. */
export const AUDIT_STARTED_MESSAGE = 'audit is started';
export const AUDIT_COMPLETED_MESSAGE = 'audit is completed';

export function buildRecord(eventType: EventType | (string & {}), fields: RecordFields, now: Date = new Date()): DecisionRecord {
  const { decisionId, timestamp, ...rest } = fields;
  return {
    schemaVersion: SCHEMA_VERSION,
    decisionId: decisionId ?? newDecisionId(now.getTime()),
    timestamp: timestamp ?? now.toISOString(),
    eventType,
    ...rest,
  };
}

export function auditStarted(fields: RecordFields & { auditId: string }, now?: Date): DecisionRecord {
  return buildRecord('audit_started', { id: fields.auditId, message: AUDIT_STARTED_MESSAGE, ...fields }, now);
}

export function auditCompleted(fields: RecordFields & { auditId: string; totals: AuditTotals }, now?: Date): DecisionRecord {
  return buildRecord('audit_completed', { id: fields.auditId, message: AUDIT_COMPLETED_MESSAGE, ...fields }, now);
}

export function violationAudited(
  fields: RecordFields & { auditId: string; kind: string; name: string; enforcementAction: string },
  now?: Date,
): DecisionRecord {
  return buildRecord('violation_audited', { id: fields.auditId, ...fields }, now);
}

export function violationOpened(
  fields: RecordFields & { auditId: string; violationKey: string; kind: string; name: string; firstSeen: string; firstAuditId: string },
  now?: Date,
): DecisionRecord {
  return buildRecord('violation_opened', { id: fields.auditId, ...fields }, now);
}

export function violationResolved(
  fields: RecordFields & {
    auditId: string;
    violationKey: string;
    kind: string;
    name: string;
    firstSeen: string;
    firstAuditId: string;
    lastAuditId: string;
    resolution: ViolationResolution;
  },
  now?: Date,
): DecisionRecord {
  return buildRecord('violation_resolved', { id: fields.auditId, ...fields }, now);
}

export function violationAdmission(
  fields: RecordFields & { admissionUID: string; kind: string; name: string; enforcementAction: string },
  now?: Date,
): DecisionRecord {
  return buildRecord('violation_admission', { id: fields.admissionUID, ...fields }, now);
}

export function admissionDecision(
  fields: RecordFields & { admissionUID: string; allowed: boolean; operation: string; violations?: ViolationSummary },
  now?: Date,
): DecisionRecord {
  return buildRecord('admission_decision', { id: fields.admissionUID, ...fields }, now);
}

export const REDACTED = '[redacted]';

/**
 * A copy of `object` with the values at `paths` replaced by "[redacted]", and the paths that matched.
 * Paths are dot-separated; `*` matches every key of a map or every element of an array
 * (e.g. "data", "stringData", "spec.template.spec.containers.*.env"). The input is not modified.
 */
export function redactObject(
  object: Record<string, unknown>,
  paths: readonly string[],
): { object: Record<string, unknown>; redactedPaths: string[] } {
  const redacted: string[] = [];
  let copy: unknown = object;
  for (const p of paths) copy = redactAt(copy, p.split('.'), [], redacted);
  return { object: copy as Record<string, unknown>, redactedPaths: redacted };
}

function redactAt(node: unknown, rest: string[], at: string[], out: string[]): unknown {
  if (rest.length === 0) {
    out.push(at.join('.'));
    return REDACTED;
  }
  if (node === null || typeof node !== 'object') return node;
  const [head, ...tail] = rest as [string, ...string[]];
  if (Array.isArray(node)) {
    const idx = head === '*' ? node.map((_, i) => i) : /^\d+$/.test(head) && Number(head) < node.length ? [Number(head)] : [];
    if (!idx.length) return node;
    const copy = node.slice();
    for (const i of idx) copy[i] = redactAt(node[i], tail, [...at, String(i)], out);
    return copy;
  }
  const obj = node as Record<string, unknown>;
  const keys = head === '*' ? Object.keys(obj) : Object.hasOwn(obj, head) ? [head] : [];
  if (!keys.length) return node;
  const copy: Record<string, unknown> = { ...obj };
  for (const k of keys) copy[k] = redactAt(obj[k], tail, [...at, k], out);
  return copy;
}
